/**
 * Reasoning reward: Match F1 between predicted and reference steps. Sentence embeddings cannot be
 * downloaded here, so the similarity is the cosine of character-trigram count vectors over the
 * normalised steps (lower case, punctuation removed, padded with a space): robust to word order,
 * inflection and spacing ("x=12" vs "x = 12"), 1 for equal text, 0 for texts sharing no trigram.
 */
import {normalizeText, parseCompletion} from './parse'
import type {RewardResult, RewardSample} from './types'

export const DEFAULT_THRESHOLD = 0.5

function trigrams(text: string): Map<string, number> {
  const t = ` ${normalizeText(text)} `
  const counts = new Map<string, number>()
  for (let i = 0; i + 3 <= t.length; i++) {
    const g = t.slice(i, i + 3)
    counts.set(g, (counts.get(g) ?? 0) + 1)
  }
  return counts
}

function cosine(a: Map<string, number>, b: Map<string, number>): number {
  let dot = 0
  let na = 0
  let nb = 0
  for (const [g, n] of a) {
    na += n * n
    dot += n * (b.get(g) ?? 0)
  }
  for (const n of b.values()) nb += n * n
  if (na === 0 || nb === 0) return 0
  // sqrt of the product (not a product of roots) makes equal vectors exactly 1
  return dot / Math.sqrt(na * nb)
}

export function stepSimilarity(a: string, b: string): number {
  return cosine(trigrams(a), trigrams(b))
}

export interface MatchResult {
  matched: {pred: number; ref: number; similarity: number}[]
  precision: number
  recall: number
  f1: number
}

/**
 * Similarity matrix, pairs at or above τ, greedy one-to-one from the most similar pair down (ties:
 * lower prediction index, then lower reference index); precision = matches / predicted steps,
 * recall = matches / reference steps.
 */
export function matchF1(pred: string[], ref: string[], threshold = DEFAULT_THRESHOLD): MatchResult {
  const pv = pred.map(trigrams)
  const rv = ref.map(trigrams)
  return matchF1With((i, j) => cosine(pv[i], rv[j]), pred.length, ref.length, threshold)
}

/** Match F1 over any step similarity (character trigrams, or sentence embeddings through /embeddings). */
export function matchF1With(similarityOf: (pred: number, ref: number) => number, nPred: number, nRef: number, threshold = DEFAULT_THRESHOLD): MatchResult {
  const pairs: {pred: number; ref: number; similarity: number}[] = []
  for (let i = 0; i < nPred; i++)
    for (let j = 0; j < nRef; j++) {
      const similarity = similarityOf(i, j)
      if (similarity >= threshold) pairs.push({pred: i, ref: j, similarity})
    }
  pairs.sort((a, b) => b.similarity - a.similarity || a.pred - b.pred || a.ref - b.ref)
  const usedP = new Set<number>()
  const usedR = new Set<number>()
  const matched: MatchResult['matched'] = []
  for (const p of pairs) {
    if (usedP.has(p.pred) || usedR.has(p.ref)) continue
    usedP.add(p.pred)
    usedR.add(p.ref)
    matched.push(p)
  }
  const precision = nPred > 0 ? matched.length / nPred : 0
  const recall = nRef > 0 ? matched.length / nRef : 0
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0
  return {matched, precision, recall, f1}
}

export function reasoningReward(completion: string, sample: RewardSample, threshold = DEFAULT_THRESHOLD): RewardResult {
  if (sample.referenceSteps.length === 0) return {reward: 0, why: 'the sample has no reference_steps'}
  const parsed = parseCompletion(completion)
  if (!parsed.ok) return {reward: 0, why: `no reasoning_steps: ${parsed.why}`}
  const steps = parsed.value.reasoningSteps
  if (steps.length === 0) return {reward: 0, why: 'reasoning_steps is empty'}
  const m = matchF1(steps, sample.referenceSteps, threshold)
  const fmt = (x: number) => x.toFixed(3)
  return {
    reward: m.f1,
    why: `${m.matched.length} of ${steps.length} predicted / ${sample.referenceSteps.length} reference steps matched at τ=${threshold}: P=${fmt(m.precision)} R=${fmt(m.recall)} F1=${fmt(m.f1)}`,
  }
}
