/**
 * Generated preference data: a coloured square on a noisy dark image, a query, and two responses —
 * the correct description and a subtly wrong one (exactly one attribute, colour or quadrant, changed).
 * Irrelevant-query pairs put this image next to a query written for a *different* image (another
 * colour): the preferred response says the query does not match the image, the rejected one is the
 * answer that would be right for the image the query was written for. Every pair is a pure function
 * of (seed, index[, k]), so nothing is stored and a resumed run regenerates exactly the same data.
 */
import type {TrainerCore as TrainerModule} from '@rfm/plugin-api'

/** What the generator uses of the trainer core: its RNG and its coloured-square scenes (shapes VQA's). */
export type GeneratorCore = Pick<TrainerModule, 'Rng' | 'drawSquare' | 'COLORS' | 'QUADRANTS'>

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

const describe = (core: GeneratorCore, color: string, quadrant: number) => `a ${color} square at ${core.QUADRANTS[quadrant]}`

/** A normal pair: the query is generic or names the image's own colour; rejected changes one attribute. */
export function preferencePair(core: GeneratorCore, seed: number, index: number, imageSize: number): PreferencePair {
  const rng = core.Rng.derive(seed, 0x7e3a, index)
  const {image, color, quadrant} = core.drawSquare(rng, imageSize)
  const colorNames = Object.keys(core.COLORS)
  const query = rng.next() < 0.5 ? 'describe the image .' : `describe the ${color} square .`
  const chosen = describe(core, color, quadrant)
  let rejected: string
  if (rng.next() < 0.5) rejected = describe(core, colorNames.filter((c) => c !== color)[rng.int(colorNames.length - 1)], quadrant)
  else rejected = describe(core, color, [0, 1, 2, 3].filter((q) => q !== quadrant)[rng.int(3)])
  return {image, query, chosen, rejected, irrelevant: false}
}

/** The k-th irrelevant-query pair of sample `index`: its image, a query about another image (another colour). */
export function irrelevantPair(core: GeneratorCore, seed: number, index: number, k: number, imageSize: number): PreferencePair {
  const base = preferencePair(core, seed, index, imageSize)
  const own = base.chosen.split(' ')[1]
  const rng = core.Rng.derive(seed, 0x1a2b, index, k)
  const colorNames = Object.keys(core.COLORS)
  const otherColor = colorNames.filter((c) => c !== own)[rng.int(colorNames.length - 1)]
  const otherQuadrant = rng.int(4)
  return {image: base.image, query: `describe the ${otherColor} square .`, chosen: NO_MATCH, rejected: describe(core, otherColor, otherQuadrant), irrelevant: true}
}

/** Every text the generator can produce, for fitting the word tokenizer without generating the set. */
export function preferenceCorpus(core: GeneratorCore): string[] {
  return ['describe the image .', 'describe the square .', NO_MATCH, ...Object.keys(core.COLORS), ...core.QUADRANTS, 'a square at']
}

/** The generated pairs as a pair source (see records.ts for records from disk). */
export function generatedSource(core: GeneratorCore, seed: number) {
  return {
    pair: (index: number, imageSize: number) => preferencePair(core, seed, index, imageSize),
    irrelevant: (index: number, k: number, imageSize: number) => irrelevantPair(core, seed, index, k, imageSize),
  }
}
