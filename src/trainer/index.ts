/**
 * The built-in trainer core. `runTraining(ctx)` trains the built-in compact VLM on a generated task
 * from `ctx.config` (see config.ts); plugins build their own TrainingTask and call `trainWith`.
 */
import type {TrainerContext} from './context'
import {describeBackend, selectBackend, SelectedBackend} from './backend'
import {builtinTrainingSchema, loraConfig, modelConfig, TrainerKeys} from './config'
import {Trainer, TrainResult} from './loop'
import {Vlm} from './nn/vlm'
import {Rng} from './rng'
import {ReplicaSpec} from './parallel/replica'
import {vqaReplicaSpec} from './replicas'
import {TrainingTask} from './task'
import {vqaCorpus} from './tasks/shapes-vqa'
import {VqaTask} from './tasks/vqa-task'
import {BpeTokenizer, Tokenizer, tokenizerFromJSON, WordTokenizer} from './tokenizer'

export {selectBackend, describeBackend} from './backend'
export type {SelectedBackend, BackendName, BackendPreference} from './backend'
export {builtinTrainingSchema, trainerSchema, modelSchema, tokenizerSchema, builtinModelConfig} from './config'
export type {BuiltinModelKeys} from './config'
export {fromHfTrainingArgs, builtinTrainerShape, builtinModelSchema, maxStepsSchema, stepCap} from './builtin-config'
export type {HfTrainingArgs} from './builtin-config'
export {Trainer, trainableNames, epochOrder} from './loop'
export type {TrainResult, TrainerState} from './loop'
export {Vlm, patchifyHost, prefixLength} from './nn/vlm'
export type {ModelConfig, VisionConfig, HeadKind} from './nn/vlm'
export {Rng} from './rng'
/** building blocks for a plugin's own model (vla-sensor): named parameters and the layers over them */
export {ParamStore} from './params'
export type {Init, LinearInit} from './params'
export * as nn from './nn/layers'
export type {TrainingTask, TrainableModel} from './task'
export {tokenCrossEntropy} from './task'
export {WordTokenizer, BpeTokenizer, tokenizerFromJSON} from './tokenizer'
export {generate, sampleToken} from './generate'
export {makeSpatialSample, spatialCorpus, SPATIAL_TASKS} from './tasks/spatial-scenes'
export {drawSquare, COLORS, QUADRANTS} from './tasks/shapes-vqa'
export type {SpatialSample, SpatialTask, SceneObject, ShapeName} from './tasks/spatial-scenes'
export {encodeSafetensors, decodeSafetensors} from './formats/safetensors'
export {resolveWorkers} from './parallel/replica'
export type {ReplicaSpec, ReplicaFactory, Replica} from './parallel/replica'
export {vqaReplicaSpec} from './replicas'
export {TensorBoardWriter} from './formats/tensorboard'

export interface TrainWithOptions {
  backend: SelectedBackend
  model: Vlm
  task: TrainingTask
  tokenizer?: Tokenizer
  trainer: TrainerKeys
  /** how a worker thread rebuilds model and task, for `trainer.workers` > 1 (see parallel/replica.ts) */
  replica?: ReplicaSpec
}

/** Runs (or resumes) a training loop for any task; the runtime's contract: save and return when asked to stop. */
export async function trainWith(ctx: TrainerContext, options: TrainWithOptions): Promise<TrainResult> {
  const trainer = new Trainer(ctx, options)
  try {
    const resumed = await trainer.resume()
    ctx.log(resumed === undefined ? `starting at step 0 of ${trainer.totalSteps}` : `resumed from checkpoint at step ${resumed} of ${trainer.totalSteps}`)
    return await trainer.train()
  } finally {
    trainer.dispose()
  }
}

/** The built-in run: compact VLM + shapes-VQA, everything from ctx.config. */
export async function runTraining(ctx: TrainerContext): Promise<TrainResult> {
  const parsed = builtinTrainingSchema.parse(ctx.config)
  // the kind's top-level max_steps (the vlm kind records 0 = no cap); trainer.max_steps is the in-process form
  const cfg = (parsed.max_steps ?? 0) > 0 ? {...parsed, trainer: {...parsed.trainer, max_steps: parsed.max_steps!}} : parsed
  const backend = await selectBackend(cfg.trainer.backend)
  ctx.log(`trainer backend: ${describeBackend(backend)}`)
  const latest = await ctx.checkpoints.loadLatest()
  // the tokenizer is part of the checkpoint: a resumed run must not refit it
  const tokenizer: Tokenizer = latest?.files['tokenizer.json']
    ? tokenizerFromJSON(JSON.parse(Buffer.from(latest.files['tokenizer.json']).toString('utf8')))
    : cfg.tokenizer.kind === 'bpe'
      ? BpeTokenizer.fit(vqaCorpus(), cfg.tokenizer.vocab_size)
      : WordTokenizer.fit(vqaCorpus(), cfg.tokenizer.vocab_size)
  const model = new Vlm(backend.tf, modelConfig(cfg.model, tokenizer.vocabSize, ['lm']), new Rng(cfg.trainer.seed), loraConfig(cfg.trainer))
  try {
    const task = new VqaTask(tokenizer, model, {seed: cfg.task.seed, trainSize: cfg.task.train_size, evalSize: cfg.task.eval_size})
    const replica = vqaReplicaSpec(ctx.config, tokenizer)
    return await trainWith(ctx, {backend, model, task, tokenizer, trainer: cfg.trainer, replica})
  } finally {
    model.dispose()
  }
}
