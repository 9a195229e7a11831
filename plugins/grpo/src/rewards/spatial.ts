/**
 * Spatial reward: exact (normalised) answer, else the spatial relations named in the answer and in
 * the ground truth, with synonyms, compared: every gold relation named and none contradicted → 1.
 */
import {normalizeText} from './parse'
import type {RewardResult, RewardSample} from './types'

export type Relation = 'left' | 'right' | 'above' | 'below' | 'front' | 'behind' | 'inside' | 'outside' | 'near' | 'far'

/** phrases per relation, matched on word boundaries in normalised text (longer phrases first within a relation) */
const PHRASES: [Relation, string[]][] = [
  ['front', ['in front of', 'in front', 'before', 'closer to camera', 'closer', 'nearer to camera', 'foreground']],
  ['behind', ['behind', 'in back of', 'at back of', 'farther from camera', 'further from camera', 'farther', 'further', 'background']],
  ['left', ['to left of', 'left of', 'on left', 'left side', 'leftward', 'left']],
  ['right', ['to right of', 'right of', 'on right', 'right side', 'rightward', 'right']],
  ['above', ['on top of', 'above', 'over', 'higher than', 'atop', 'on top', 'up']],
  ['below', ['underneath', 'beneath', 'below', 'under', 'lower than', 'down']],
  ['inside', ['inside of', 'inside', 'within', 'contained in', 'in middle of']],
  ['outside', ['outside of', 'outside', 'out of']],
  ['near', ['next to', 'beside', 'adjacent to', 'near', 'close to', 'by']],
  ['far', ['far from', 'far away', 'distant', 'far']],
]

export const OPPOSITE: Record<Relation, Relation> = {
  left: 'right',
  right: 'left',
  above: 'below',
  below: 'above',
  front: 'behind',
  behind: 'front',
  inside: 'outside',
  outside: 'inside',
  near: 'far',
  far: 'near',
}

/** Relations named in a text, in a fixed order; a phrase's words are consumed so "in front of" is not also "in". */
export function extractRelations(text: string): Relation[] {
  let t = ` ${normalizeText(text)} `
  const found = new Set<Relation>()
  // longest phrases first across relations, so "far from" is not "from" and "next to" not "to"
  const all = PHRASES.flatMap(([rel, ps]) => ps.map((p) => ({rel, p}))).sort((a, b) => b.p.length - a.p.length)
  for (const {rel, p} of all) {
    const needle = ` ${p} `
    while (t.includes(needle)) {
      found.add(rel)
      t = t.replace(needle, ' | ')
    }
  }
  return [...found]
}

export function spatialReward(answer: string | undefined, sample: RewardSample): RewardResult {
  if (answer === undefined) return {reward: 0, why: 'no answer found in the completion'}
  if (normalizeText(answer) === normalizeText(sample.answer)) return {reward: 1, why: 'exact answer'}
  const gold = extractRelations(sample.answer)
  if (gold.length === 0) return {reward: 0, why: `"${normalizeText(answer)}" ≠ "${normalizeText(sample.answer)}" and the answer names no spatial relation`}
  const pred = extractRelations(answer)
  if (pred.length === 0) return {reward: 0, why: `no spatial relation in "${answer}" (want ${gold.join(', ')})`}
  const contradicted = gold.filter((g) => pred.includes(OPPOSITE[g]))
  if (contradicted.length > 0) return {reward: 0, why: `names the opposite relation: ${contradicted.map((g) => `${OPPOSITE[g]} for ${g}`).join(', ')}`}
  const missing = gold.filter((g) => !pred.includes(g))
  if (missing.length > 0) return {reward: 0, why: `relations ${pred.join(', ')} miss ${missing.join(', ')}`}
  return {reward: 1, why: `relation ${gold.join(', ')} named (${pred.join(', ')})`}
}
