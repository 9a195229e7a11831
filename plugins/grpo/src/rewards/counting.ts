/**
 * Counting reward: the first whole number in the answer (digits or number words) against the gold
 * count: exact → 1; within max(1, 10% of the count) → 0.5; within max(2, 25%) → 0.25; else 0.
 */
import {firstInteger} from './numbers'
import type {RewardResult, RewardSample} from './types'

export function countingReward(answer: string | undefined, sample: RewardSample): RewardResult {
  if (answer === undefined) return {reward: 0, why: 'no answer found in the completion'}
  const gold = firstInteger(sample.answer)
  if (gold === undefined) return {reward: 0, why: `the ground truth "${sample.answer}" is not a count`}
  const pred = firstInteger(answer)
  if (pred === undefined) return {reward: 0, why: `no number in "${answer}"`}
  const d = Math.abs(pred - gold)
  if (d === 0) return {reward: 1, why: `${pred} = ${gold}`}
  if (d <= Math.max(1, Math.round(0.1 * gold))) return {reward: 0.5, why: `${pred} is a near miss of ${gold} (off by ${d})`}
  if (d <= Math.max(2, Math.round(0.25 * gold))) return {reward: 0.25, why: `${pred} is close to ${gold} (off by ${d})`}
  return {reward: 0, why: `${pred} is far from ${gold} (off by ${d})`}
}
