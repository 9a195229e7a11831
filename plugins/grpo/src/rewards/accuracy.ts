/**
 * Accuracy of the answer against the ground truth, by the answer's kind (the seed's rules):
 * unanswerable → "insufficient information"; multiple choice → the option letter; numeric → the
 * value with units and the requested precision; text → normalised exact match.
 */
import {normalizeText} from './parse'
import {parseQuantity, Quantity, requestedPrecision, roundTo} from './numbers'
import type {RewardResult, RewardSample} from './types'

const INSUFFICIENT = [
  'insufficient information',
  'not enough information',
  'insufficient info',
  'cannot be determined',
  'can not be determined',
  'cannot determine',
  'cannot tell',
  'can t tell',
  'can t be determined',
  'unanswerable',
  'cannot answer',
  'not answerable',
  'unknown',
  'not determinable',
  'impossible to tell',
  'impossible to determine',
]

export function isInsufficient(text: string): boolean {
  return INSUFFICIENT.includes(
    normalizeText(text)
      .replace(/\bis\b|\bit\b/g, '')
      .replace(/\s+/g, ' ')
      .trim(),
  )
}

interface Option {
  letter: string
  text: string
}

/** Options as (letter, text): "A. left" / "(B) right" / "C: x" keep their letter; plain texts get A, B, C… by position. */
export function readOptions(sample: RewardSample): Option[] {
  const list = sample.choices && sample.choices.length > 0 ? sample.choices : (sample.options ?? [])
  return list.map((raw, i) => {
    const m = /^\s*\(?([A-Za-z])\s*[.):]\s*(.*)$/.exec(raw)
    return m ? {letter: m[1].toUpperCase(), text: m[2]} : {letter: String.fromCharCode(65 + i), text: raw}
  })
}

/** The option an answer names: a bare letter ("B", "(b)", "B."), a letter with its text ("B. right"), or an option's text. */
function chosenOption(answer: string, options: Option[]): {letter?: string; why: string} {
  const letters = new Set(options.map((o) => o.letter))
  const bare = /^\s*\(?([A-Za-z])\s*[.):]?\s*$/.exec(answer)
  if (bare && letters.has(bare[1].toUpperCase())) return {letter: bare[1].toUpperCase(), why: `letter ${bare[1].toUpperCase()}`}
  const withText = /^\s*\(?([A-Za-z])\s*[.):]\s*(.+)$/.exec(answer)
  if (withText && letters.has(withText[1].toUpperCase())) {
    const letter = withText[1].toUpperCase()
    const own = options.find((o) => o.letter === letter)!
    if (normalizeText(own.text) === normalizeText(withText[2])) return {letter, why: `letter ${letter} with its option text`}
    return {why: `letter ${letter} but the text "${withText[2].trim()}" is not option ${letter} ("${own.text}")`}
  }
  const byText = options.filter((o) => normalizeText(o.text) === normalizeText(answer))
  if (byText.length === 1) return {letter: byText[0].letter, why: `text of option ${byText[0].letter}`}
  return {why: 'names no option'}
}

function quantityWhy(q: Quantity): string {
  return `${q.value}${q.unit ? ' ' + q.unit.name : ''}`
}

function numericAccuracy(answer: string, gold: Quantity, question: string): RewardResult | undefined {
  const pred = parseQuantity(answer)
  if (!pred) return undefined
  if (gold.unit && pred.unit && gold.unit.dim !== pred.unit.dim) return {reward: 0, why: `unit ${pred.unit.name} is not a ${gold.unit.dim} like ${gold.unit.name}`}
  if (!gold.unit && pred.unit && pred.unit.dim !== 'percent') return {reward: 0, why: `unit ${pred.unit.name} where the answer has none`}
  // both in the gold's unit
  const value = gold.unit && pred.unit ? (pred.value * pred.unit.factor) / gold.unit.factor : pred.value
  const requested = requestedPrecision(question)
  if (requested !== undefined && pred.decimals !== requested) return {reward: 0, why: `the question asks for ${requested} decimal place(s), the answer has ${pred.decimals}`}
  const decimals = requested ?? gold.decimals
  const equal = roundTo(value, decimals) === roundTo(gold.value, decimals)
  if (!equal) return {reward: 0, why: `${quantityWhy(pred)} ≠ ${quantityWhy(gold)} at ${decimals} decimal place(s)`}
  if (gold.unit && !pred.unit) return {reward: 0.5, why: `value right but the unit (${gold.unit.name}) is missing`}
  return {reward: 1, why: `${quantityWhy(pred)} = ${quantityWhy(gold)} at ${decimals} decimal place(s)`}
}

/** Accuracy of one answer (undefined answer = none could be read from the completion). */
export function answerAccuracy(answer: string | undefined, sample: RewardSample): RewardResult {
  if (answer === undefined) return {reward: 0, why: 'no answer found in the completion'}
  const gold = sample.answer
  if (isInsufficient(gold) || isInsufficient(answer)) {
    const both = isInsufficient(gold) && isInsufficient(answer)
    return {
      reward: both ? 1 : 0,
      why: both ? 'unanswerable, and answered so' : isInsufficient(gold) ? 'unanswerable, but an answer was guessed' : 'answerable, but the answer says insufficient information',
    }
  }
  const options = readOptions(sample)
  if (options.length > 0) {
    const goldChoice = chosenOption(gold, options)
    if (goldChoice.letter) {
      const pred = chosenOption(answer, options)
      if (!pred.letter) return {reward: 0, why: `multiple choice: ${pred.why}`}
      return pred.letter === goldChoice.letter
        ? {reward: 1, why: `multiple choice: ${pred.why} = ${goldChoice.letter}`}
        : {reward: 0, why: `multiple choice: ${pred.why}, the answer is ${goldChoice.letter}`}
    }
  }
  const goldQuantity = parseQuantity(gold)
  if (goldQuantity) {
    const numeric = numericAccuracy(answer, goldQuantity, sample.question)
    if (numeric) return numeric
    return {reward: 0, why: `"${answer}" is not a number, the answer is ${quantityWhy(goldQuantity)}`}
  }
  const a = normalizeText(answer)
  const g = normalizeText(gold)
  return a === g ? {reward: 1, why: `"${a}" matches`} : {reward: 0, why: `"${a}" ≠ "${g}" (normalised)`}
}
