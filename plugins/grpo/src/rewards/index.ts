/**
 * The GRPO reward functions by name (`reward_funcs`), their weighted sum (`reward_weights`, summed
 * as TRL does), and the per-reward debug logs (`--debug-log DIR`, the seed's DEBUG_MODE/LOG_PATH).
 */
import {appendFileSync, mkdirSync} from 'node:fs'
import * as path from 'node:path'

import {answerAccuracy} from './accuracy'
import {countingReward} from './counting'
import {extractAnswer, parseCompletion} from './parse'
import {DEFAULT_THRESHOLD, reasoningReward} from './reasoning'
import {extractRelations, spatialReward} from './spatial'
import type {RewardFunction, RewardResult, RewardSample, TaskType} from './types'

export type {RewardFunction, RewardResult, RewardSample, TaskType} from './types'
export {parseCompletion, extractAnswer, normalizeText} from './parse'
export {parseNumberWords, parseQuantity, requestedPrecision} from './numbers'
export {stepSimilarity, matchF1} from './reasoning'
export {extractRelations} from './spatial'
export {answerAccuracy, isInsufficient} from './accuracy'

export function formatReward(completion: string): RewardResult {
  const parsed = parseCompletion(completion)
  return parsed.ok ? {reward: 1, why: 'valid JSON with exactly reasoning_steps and answer'} : {reward: 0, why: parsed.why}
}

/** The sample's task type: its own `task` when known, else "how many …" → count, a relation in the answer → relation, else vqa. */
export function taskTypeOf(sample: RewardSample): TaskType {
  const known: TaskType[] = ['relation', 'count', 'color', 'multiple_choice', 'vqa']
  if (sample.task && (known as string[]).includes(sample.task)) return sample.task as TaskType
  if (/\bhow many\b|\bcount\b|\bnumber of\b/i.test(sample.question)) return 'count'
  if (extractRelations(sample.answer).length > 0) return 'relation'
  if ((sample.choices?.length ?? 0) > 0 || (sample.options?.length ?? 0) > 0) return 'multiple_choice'
  return 'vqa'
}

/** Weight of the task's own reward in `combined`; the rest is the format reward. */
export const COMBINED_TASK_WEIGHT = 0.8

export function combinedReward(completion: string, sample: RewardSample): RewardResult {
  const task = taskTypeOf(sample)
  const answer = extractAnswer(completion)
  const own = task === 'count' ? countingReward(answer, sample) : task === 'relation' ? spatialReward(answer, sample) : answerAccuracy(answer, sample)
  const fmt = formatReward(completion)
  const reward = COMBINED_TASK_WEIGHT * own.reward + (1 - COMBINED_TASK_WEIGHT) * fmt.reward
  const ownName = task === 'count' ? 'counting' : task === 'relation' ? 'spatial' : 'accuracy'
  return {reward, why: `task ${task}: ${COMBINED_TASK_WEIGHT} × ${ownName} ${own.reward} (${own.why}) + ${(1 - COMBINED_TASK_WEIGHT).toFixed(1)} × format ${fmt.reward}`}
}

const each =
  (f: (completion: string, sample: RewardSample) => RewardResult): RewardFunction =>
  (completions, samples) =>
    completions.map((c, i) => f(c, samples[i]))

export const REWARDS = {
  format: each((c) => formatReward(c)),
  accuracy: each((c, s) => answerAccuracy(extractAnswer(c), s)),
  reasoning: each((c, s) => reasoningReward(c, s)),
  spatial: each((c, s) => spatialReward(extractAnswer(c), s)),
  counting: each((c, s) => countingReward(extractAnswer(c), s)),
  combined: each(combinedReward),
} satisfies Record<string, RewardFunction>

export type RewardName = keyof typeof REWARDS
export const REWARD_NAMES = Object.keys(REWARDS) as RewardName[]

export interface Scored {
  /** Σ weight × reward per completion */
  total: number[]
  perFunction: Record<string, RewardResult[]>
}

export function scoreAll(completions: string[], samples: RewardSample[], names: string[], weights: number[], options: {reasoningThreshold?: number} = {}): Scored {
  if (weights.length !== names.length) throw new Error(`reward_weights has ${weights.length} values for ${names.length} reward_funcs`)
  const perFunction: Record<string, RewardResult[]> = {}
  const total = completions.map(() => 0)
  names.forEach((name, k) => {
    const threshold = options.reasoningThreshold ?? DEFAULT_THRESHOLD
    const f: RewardFunction = name === 'reasoning' ? each((c, s) => reasoningReward(c, s, threshold)) : REWARDS[name as RewardName]
    if (!f) throw new Error(`unknown reward function ${name}`)
    const results = f(completions, samples)
    perFunction[name] = results
    results.forEach((r, i) => (total[i] += weights[k] * r.reward))
  })
  return {total, perFunction}
}

/** The prompt text a debug log shows for a sample. */
export function promptText(sample: RewardSample): string {
  const options = sample.choices?.length ? sample.choices : (sample.options ?? [])
  return options.length > 0 ? `${sample.question} ${options.join(' ')}` : sample.question
}

/** One file per reward function, `debug_<name>.txt`, appended with a block per completion. */
export class RewardDebugLog {
  constructor(readonly dir: string) {
    mkdirSync(dir, {recursive: true})
  }

  write(step: number, samples: RewardSample[], completions: string[], sampleOf: number[], scored: Scored): void {
    for (const [name, results] of Object.entries(scored.perFunction)) {
      const blocks = results.map((r, i) => {
        const sample = samples[sampleOf[i]]
        return [
          `----- step ${step} · completion ${i} · sample ${sampleOf[i]} -----`,
          `prompt: ${promptText(sample)}`,
          `completion: ${completions[i]}`,
          `answer: ${sample.answer}`,
          `reward: ${r.reward}`,
          `why: ${r.why}`,
          '',
        ].join('\n')
      })
      appendFileSync(path.join(this.dir, `debug_${name}.txt`), blocks.join('\n') + '\n')
    }
  }
}
