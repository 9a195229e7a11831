/** Numbers in answers: digits or English number words, optional units, and the precision a question asks for. */

const SMALL: Record<string, number> = {
  zero: 0,
  none: 0,
  no: 0,
  one: 1,
  a: 1,
  an: 1,
  single: 1,
  two: 2,
  pair: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
  twenty: 20,
  thirty: 30,
  forty: 40,
  fifty: 50,
  sixty: 60,
  seventy: 70,
  eighty: 80,
  ninety: 90,
}
const SCALES: Record<string, number> = {dozen: 12, hundred: 100, thousand: 1000, million: 1_000_000}

/**
 * The value of a run of number words ("twenty one", "twenty-one", "one hundred and five", "a dozen"),
 * or undefined when the text holds none. Words around the run are ignored ("there are three circles").
 */
export function parseNumberWords(text: string): number | undefined {
  const words = text
    .toLowerCase()
    .replace(/-/g, ' ')
    .split(/[^a-z]+/)
    .filter(Boolean)
  for (let start = 0; start < words.length; start++) {
    if (!(words[start] in SMALL) && !(words[start] in SCALES)) continue
    let total = 0
    let current = 0
    let used = 0
    let i = start
    for (; i < words.length; i++) {
      const w = words[i]
      if (w === 'and' && used > 0) continue
      if (w in SMALL) {
        // "a"/"an" count only before a scale ("a dozen", "a hundred")
        if ((w === 'a' || w === 'an') && !(words[i + 1] in SCALES)) break
        current += SMALL[w]
        used++
      } else if (w in SCALES) {
        current = (current || 1) * SCALES[w]
        if (SCALES[w] >= 1000) {
          total += current
          current = 0
        }
        used++
      } else break
    }
    if (used > 0) return total + current
  }
  return undefined
}

/** Length, mass, time, angle and percent units, each with its factor to the dimension's base unit. */
const UNITS: Record<string, {dim: string; factor: number}> = {}
const defineUnits = (dim: string, entries: [string[], number][]) => {
  for (const [names, factor] of entries) for (const n of names) UNITS[n] = {dim, factor}
}
defineUnits('length', [
  [['mm', 'millimeter', 'millimeters', 'millimetre', 'millimetres'], 0.001],
  [['cm', 'centimeter', 'centimeters', 'centimetre', 'centimetres'], 0.01],
  [['m', 'meter', 'meters', 'metre', 'metres'], 1],
  [['km', 'kilometer', 'kilometers', 'kilometre', 'kilometres'], 1000],
  [['in', 'inch', 'inches'], 0.0254],
  [['ft', 'foot', 'feet'], 0.3048],
  [['mi', 'mile', 'miles'], 1609.344],
])
defineUnits('mass', [
  [['g', 'gram', 'grams'], 0.001],
  [['kg', 'kilogram', 'kilograms'], 1],
  [['lb', 'lbs', 'pound', 'pounds'], 0.45359237],
])
defineUnits('time', [
  [['s', 'sec', 'second', 'seconds'], 1],
  [['min', 'minute', 'minutes'], 60],
  [['h', 'hr', 'hour', 'hours'], 3600],
])
defineUnits('angle', [[['deg', 'degree', 'degrees', '°'], 1]])
defineUnits('percent', [[['%', 'percent', 'pct'], 1]])

export interface Quantity {
  value: number
  /** digits after the decimal point as written */
  decimals: number
  unit?: {name: string; dim: string; factor: number}
}

/**
 * A whole answer read as a number with an optional unit ("3.5 m", "45%", "1,200", "three"); undefined
 * when the answer is not just a quantity. Number words have 0 decimals.
 */
export function parseQuantity(text: string): Quantity | undefined {
  const t = text
    .trim()
    .toLowerCase()
    .replace(/(\d),(\d{3})\b/g, '$1$2')
    .replace(/[.!]$/, '')
  const m = /^([-+]?\d+(?:\.(\d+))?|[-+]?\.(\d+))\s*(%|°|[a-z]+)?$/.exec(t)
  if (m) {
    const unit = m[4] ? UNITS[m[4]] : undefined
    if (m[4] && !unit) return undefined
    return {value: Number(m[1]), decimals: (m[2] ?? m[3] ?? '').length, unit: unit && m[4] ? {name: m[4], ...unit} : undefined}
  }
  if (/^[a-z\s-]+$/.test(t)) {
    const words = t.replace(/-/g, ' ').split(/\s+/)
    const allNumberWords = words.every((w) => w in SMALL || w in SCALES || w === 'and')
    const value = parseNumberWords(t)
    if (allNumberWords && value !== undefined && !['a', 'an', 'no'].includes(t)) return {value, decimals: 0}
  }
  return undefined
}

/** The first whole number anywhere in a text, as digits or number words (for counts). */
export function firstInteger(text: string): number | undefined {
  const digits = /(?:^|[^\d.])(\d+)(?![\d.]\d)/.exec(text.replace(/(\d),(\d{3})\b/g, '$1$2'))
  const fromDigits = digits ? Number(digits[1]) : undefined
  const fromWords = parseNumberWords(text)
  if (fromDigits === undefined) return fromWords
  if (fromWords === undefined) return fromDigits
  // whichever comes first in the text
  const wordAt = text
    .toLowerCase()
    .search(
      /\b(zero|none|no|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)\b/,
    )
  return wordAt >= 0 && wordAt < (digits?.index ?? Infinity) ? fromWords : fromDigits
}

const ORDINAL_WORDS: Record<string, number> = {one: 1, two: 2, three: 3, four: 4, five: 5, six: 6}

/**
 * Decimal places a question asks for: "to 2 decimal places", "round to two decimals", "one decimal
 * point", "to the nearest integer/whole number" (0), "nearest tenth" (1), "hundredth" (2); else undefined.
 */
export function requestedPrecision(question: string): number | undefined {
  const q = question.toLowerCase()
  if (/nearest (integer|whole number|whole|unit)\b/.test(q)) return 0
  if (/nearest tenth/.test(q)) return 1
  if (/nearest hundredth/.test(q)) return 2
  const m = /\b(\d+|one|two|three|four|five|six)\s+decimal(?:s| places?| points?| digits?)?\b/.exec(q)
  if (m) return /^\d+$/.test(m[1]) ? Number(m[1]) : ORDINAL_WORDS[m[1]]
  return undefined
}

export function roundTo(value: number, decimals: number): number {
  const f = 10 ** decimals
  return Math.round(value * f + Math.sign(value) * 1e-9) / f
}
