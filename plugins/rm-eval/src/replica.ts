/**
 * rm-eval's replica recipe (`builtin.workers` > 1): a worker thread rebuilds the reward model and
 * its task from plain arguments (model config, tokenizer, task options, and the preference records
 * read from disk, if any); the trainer then gives it the run's weights.
 */
import * as path from 'node:path'

import type {ModelConfig, ReplicaFactory, ReplicaSpec} from '@rfm/plugin-api'

import {PreferenceRecord, recordSource} from './records'
import {RewardTask, RewardTaskOptions} from './reward-task'

export interface RewardReplicaArgs {
  modelConfig: ModelConfig
  /** the model's init seed (its weights are overwritten with the run's) */
  seed: number
  tokenizer: Record<string, unknown>
  options: Omit<RewardTaskOptions, 'source' | 'evalBatch'>
  /** records from disk (decoded images, as the run read them); absent: generated pairs */
  records?: PreferenceRecord[]
}

export function rewardReplicaSpec(args: RewardReplicaArgs): ReplicaSpec {
  return {module: path.join(__dirname, 'replica.js'), export: 'rewardReplica', args}
}

export const rewardReplica: ReplicaFactory<RewardReplicaArgs> = async (args, {backend, trainer, loadFormats}) => {
  const model = new trainer.Vlm(backend.tf, args.modelConfig, new trainer.Rng(args.seed))
  const source = args.records ? recordSource(await loadFormats(), trainer.Rng, args.records, args.options.seed) : undefined
  const task = new RewardTask(trainer, trainer.tokenizerFromJSON(args.tokenizer), model, {...args.options, source})
  return {model, task}
}
