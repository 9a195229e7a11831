/**
 * What the training loop needs from a task: how many samples, how to build a loss for a list of
 * sample indices, and how to evaluate. Plugins (SFT, reward models, VLA, ...) implement this; the
 * built-in shapes-VQA task below is the reference one.
 */
import type * as tfTypes from '@tensorflow/tfjs-core'

import type {AttentionProducts} from './nn/layers'
import {Vlm} from './nn/vlm'
import type {ParamStore} from './params'
import {Rng} from './rng'

/**
 * What the training loop needs from a model: its named parameters (AdamW, checkpoints by name), the
 * config written as model_config.json, LoRA's shape for the merged export, and `dispose`. rfm's Vlm
 * is one; a plugin's own model (vla-sensor's) is another.
 */
export interface TrainableModel {
  store: ParamStore
  config: unknown
  lora?: {rank: number; alpha: number}
  /** only models built from the core's attention have the switch */
  attentionProducts?: AttentionProducts
  dispose(): void
}

export interface TrainingTask<M extends TrainableModel = Vlm> {
  trainSize: number
  /**
   * Scalar loss for these training samples. Called inside tf.variableGrads: build it from tfjs
   * ops on `model.forward(...)`. `rng` is the run's RNG (dropout); use nothing else random.
   */
  loss(model: M, indices: number[], rng: Rng): tfTypes.Scalar
  /** Held-out metrics, named eval_*; must not use the run's RNG. */
  evaluate?(model: M): Record<string, number>
  /**
   * The total weight of these samples in the loss, when the loss is a weighted mean normalised per
   * batch (tokens of a masked cross-entropy, per-sample loss weights): data-parallel shards are then
   * combined by it, so N shards give the one-batch loss. Default: the sample count.
   */
  lossWeight?(indices: number[]): number
  /**
   * Statistics a task gathers in `loss` (DPO's rewards), across data-parallel workers: a worker's
   * replica drains its own after each shard (structured-cloneable) and the run's task merges them,
   * in shard order. A task without them logs only what the main thread's shard saw.
   */
  drainShardStats?(): unknown
  mergeShardStats?(stats: unknown): void
}

/** Masked mean token cross-entropy: logits [B, T, V], targets [B, T] int32, weights [B, T]. */
export function tokenCrossEntropy(tf: typeof tfTypes, logits: tfTypes.Tensor, targets: tfTypes.Tensor, weights: tfTypes.Tensor): tfTypes.Scalar {
  const v = logits.shape[logits.shape.length - 1]
  const logp = tf.logSoftmax(tf.reshape(logits, [-1, v]))
  const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.reshape(targets, [-1]), v)), -1)
  const w = tf.reshape(weights, [-1])
  return tf.div(tf.neg(tf.sum(tf.mul(picked, w))), tf.maximum(tf.sum(w), 1)) as tfTypes.Scalar
}
