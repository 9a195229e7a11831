/**
 * Generated preference data: a coloured square on a noisy dark image, a query, and two responses —
 * the correct description and a subtly wrong one (exactly one attribute, colour or quadrant, changed).
 * Irrelevant-query pairs put this image next to a query written for a *different* image (another
 * colour): the preferred response says the query does not match the image, the rejected one is the
 * answer that would be right for the image the query was written for. Every pair is a pure function
 * of (seed, index[, k]), so nothing is stored and a resumed run regenerates exactly the same data.
 */
import type {Rng as RngClass, RngCtor} from './trainer-types'

export const COLORS: Record<string, [number, number, number]> = {
  red: [1, 0.1, 0.1],
  green: [0.1, 1, 0.1],
  blue: [0.15, 0.25, 1],
  yellow: [1, 1, 0.1],
}
export const QUADRANTS = ['top-left', 'top-right', 'bottom-left', 'bottom-right']
export const NO_MATCH = 'the query does not match the image'

export interface PreferencePair {
  /** HWC float image, imageSize² × 3 */
  image: Float32Array
  query: string
  chosen: string
  rejected: string
  /** true for an irrelevant-query pair */
  irrelevant: boolean
  /** where a record came from (file:line, dataset row), for messages */
  source?: string
}

const colorNames = Object.keys(COLORS)
const describe = (color: string, quadrant: number) => `a ${color} square at ${QUADRANTS[quadrant]}`

function drawImage(rng: RngClass, imageSize: number): {image: Float32Array; color: string; quadrant: number} {
  const image = new Float32Array(imageSize * imageSize * 3)
  for (let i = 0; i < image.length; i++) image[i] = rng.next() * 0.15
  const color = colorNames[rng.int(colorNames.length)]
  const quadrant = rng.int(4)
  const half = imageSize / 2
  const size = Math.max(2, Math.floor(half / 2) + rng.int(Math.max(1, Math.floor(half / 2))))
  const x0 = (quadrant % 2) * half + rng.int(half - size + 1)
  const y0 = Math.floor(quadrant / 2) * half + rng.int(half - size + 1)
  const rgb = COLORS[color]
  for (let y = y0; y < y0 + size; y++) for (let x = x0; x < x0 + size; x++) for (let c = 0; c < 3; c++) image[(y * imageSize + x) * 3 + c] = rgb[c]
  return {image, color, quadrant}
}

/** A normal pair: the query is generic or names the image's own colour; rejected changes one attribute. */
export function preferencePair(Rng: RngCtor, seed: number, index: number, imageSize: number): PreferencePair {
  const rng = Rng.derive(seed, 0x7e3a, index)
  const {image, color, quadrant} = drawImage(rng, imageSize)
  const query = rng.next() < 0.5 ? 'describe the image .' : `describe the ${color} square .`
  const chosen = describe(color, quadrant)
  let rejected: string
  if (rng.next() < 0.5) rejected = describe(colorNames.filter((c) => c !== color)[rng.int(colorNames.length - 1)], quadrant)
  else rejected = describe(color, [0, 1, 2, 3].filter((q) => q !== quadrant)[rng.int(3)])
  return {image, query, chosen, rejected, irrelevant: false}
}

/** The k-th irrelevant-query pair of sample `index`: its image, a query about another image (another colour). */
export function irrelevantPair(Rng: RngCtor, seed: number, index: number, k: number, imageSize: number): PreferencePair {
  const base = preferencePair(Rng, seed, index, imageSize)
  const own = base.chosen.split(' ')[1]
  const rng = Rng.derive(seed, 0x1a2b, index, k)
  const otherColor = colorNames.filter((c) => c !== own)[rng.int(colorNames.length - 1)]
  const otherQuadrant = rng.int(4)
  return {image: base.image, query: `describe the ${otherColor} square .`, chosen: NO_MATCH, rejected: describe(otherColor, otherQuadrant), irrelevant: true}
}

/** Every text the generator can produce, for fitting the word tokenizer without generating the set. */
export function preferenceCorpus(): string[] {
  return ['describe the image .', 'describe the square .', NO_MATCH, ...colorNames, ...QUADRANTS, 'a square at']
}

/** The generated pairs as a pair source (see records.ts for records from disk). */
export function generatedSource(Rng: RngCtor, seed: number) {
  return {
    pair: (index: number, imageSize: number) => preferencePair(Rng, seed, index, imageSize),
    irrelevant: (index: number, k: number, imageSize: number) => irrelevantPair(Rng, seed, index, k, imageSize),
  }
}
