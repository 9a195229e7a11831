/**
 * Whether an answer is right, by the benchmark's kind of answer, and the accuracy rows. CV-Bench:
 * the option a model names (its letter "(B)", "B", "b." or its text) against the gold letter;
 * accuracy per task, per type (2D = mean of Count and Relation, 3D = mean of Depth and Distance)
 * and overall = mean of 2D and 3D, as CV-Bench reports it. VSR: true/false (also yes/no, 1/0)
 * against the label, overall and per relation. VQA: the kind's accuracy rules (grpo's reward).
 */
import type {EvalSample, ResultRow} from './types'

const norm = (t: string) =>
  t
    .toLowerCase()
    .replace(/[^a-z0-9.%]+/g, ' ')
    .trim()

/** The index of the option an answer names, undefined when it names none. */
export function chosenIndex(answer: string, choices: string[]): number | undefined {
  const letter = /^\s*\(?([A-Za-z])\s*[.):]?(?:\s+(.*))?$/.exec(answer)
  if (letter) {
    const i = letter[1].toUpperCase().charCodeAt(0) - 65
    if (i < choices.length && (letter[2] === undefined || letter[2].trim() === '' || norm(letter[2]) === norm(stripLetter(choices[i])))) return i
  }
  const byText = choices.map((c, i) => ({i, t: norm(stripLetter(c))})).filter((c) => c.t !== '' && c.t === norm(answer))
  return byText.length === 1 ? byText[0].i : undefined
}

const stripLetter = (choice: string) => choice.replace(/^\s*\(?[A-Za-z]\s*[.):]\s*/, '')

/** true / false from an answer's first word (true, yes, 1 / false, no, 0); undefined otherwise ("right" is a relation, not a verdict). */
export function truthOf(answer: string): boolean | undefined {
  const first = norm(answer).split(' ')[0]
  if (['true', 'yes', '1'].includes(first)) return true
  if (['false', 'no', '0'].includes(first)) return false
  return undefined
}

/** Rule-based correctness of a choice or truth answer. */
export function ruleCorrect(sample: EvalSample, answer: string): boolean {
  if (sample.kind === 'truth') return truthOf(answer) === (sample.answer === 'true')
  if (sample.kind === 'choice') {
    const gold = /^\s*\(?([A-Za-z])\)?\s*$/.exec(sample.answer)
    return gold !== null && chosenIndex(answer, sample.choices ?? []) === gold[1].toUpperCase().charCodeAt(0) - 65
  }
  throw new Error("VQA answers are judged by the kind's accuracy rules")
}

export interface Judged {
  sample: EvalSample
  correct: boolean
  graded: boolean
  fallback: boolean
}

const mean = (xs: number[]) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length)

/** The rows of one checkpoint × benchmark: one per task (sorted), CV-Bench's 2D/3D, and "all". */
export function accuracyRows(base: {checkpoint: string; step: number | null; benchmark: string}, judged: Judged[], unreadable: number, aggregate?: 'cv-bench'): ResultRow[] {
  const row = (task: string, part: Judged[], extra: Partial<ResultRow> = {}): ResultRow => {
    const correct = part.filter((j) => j.correct).length
    return {
      ...base,
      task,
      accuracy: part.length === 0 ? null : correct / part.length,
      samples: part.length,
      correct,
      unreadable: 0,
      graded: part.filter((j) => j.graded).length,
      grader_fallbacks: part.filter((j) => j.fallback).length,
      status: 'ok',
      ...extra,
    }
  }
  const tasks = [...new Set(judged.map((j) => j.sample.task))].sort()
  const rows = tasks.map((t) =>
    row(
      t,
      judged.filter((j) => j.sample.task === t),
    ),
  )
  if (aggregate !== 'cv-bench') return [...rows, row('all', judged, {unreadable})]
  // CV-Bench: a type's accuracy is the mean of its tasks'; overall the mean of the types'
  const byType = new Map<string, ResultRow>()
  for (const type of [...new Set(judged.map((j) => j.sample.type ?? ''))].sort()) {
    const part = judged.filter((j) => (j.sample.type ?? '') === type)
    const perTask = [...new Set(part.map((j) => j.sample.task))].map((t) => {
      const p = part.filter((j) => j.sample.task === t)
      return p.filter((j) => j.correct).length / p.length
    })
    byType.set(type, row(type, part, {accuracy: mean(perTask)}))
  }
  const all = row('all', judged, {unreadable, accuracy: mean([...byType.values()].map((r) => r.accuracy!))})
  return [...rows, ...byType.values(), all]
}
