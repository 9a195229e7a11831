/** Replica recipes of the trainer's own tasks (see parallel/replica.ts). */
import * as path from 'node:path'

import {builtinTrainingSchema, loraConfig, modelConfig} from './config'
import {Vlm} from './nn/vlm'
import type {Replica, ReplicaFactory, ReplicaSpec} from './parallel/replica'
import {Rng} from './rng'
import {VqaTask} from './tasks/vqa-task'
import {Tokenizer, tokenizerFromJSON} from './tokenizer'

/** The built-in shapes-VQA run (runTraining): its raw config and fitted tokenizer rebuild it. */
export function vqaReplicaSpec(config: Record<string, unknown>, tokenizer: Tokenizer): ReplicaSpec {
  return {module: path.join(__dirname, 'replicas.js'), export: 'vqaReplica', args: {config, tokenizer: tokenizer.toJSON()}}
}

export const vqaReplica: ReplicaFactory = (args: {config: Record<string, unknown>; tokenizer: ReturnType<Tokenizer['toJSON']>}, {backend}): Replica<Vlm> => {
  const cfg = builtinTrainingSchema.parse(args.config)
  const tokenizer = tokenizerFromJSON(args.tokenizer)
  const model = new Vlm(backend.tf, modelConfig(cfg.model, tokenizer.vocabSize, ['lm']), new Rng(cfg.trainer.seed), loraConfig(cfg.trainer))
  const task = new VqaTask(tokenizer, model, {seed: cfg.task.seed, trainSize: cfg.task.train_size, evalSize: cfg.task.eval_size})
  return {model, task}
}
