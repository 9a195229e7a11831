/**
 * The training loop: named parameter groups, AdamW, gradient accumulation, global-norm clipping,
 * freezing, LoRA, schedules, eval, checkpoints every save_steps and when the runtime asks — and
 * exact resume: everything that influences the next step is in the checkpoint (weights, optimizer
 * moments and step, schedule state, global step, epoch, position in the epoch's order, RNG).
 */
import * as path from 'node:path'

import type * as tfTypes from '@tensorflow/tfjs-core'

import type {CheckpointFiles} from '../checkpoint/types'
import type {TrainerContext} from './context'
import {AdamW} from './adamw'
import {describeBackend, SelectedBackend} from './backend'
import {scheduleConfig, TrainerKeys} from './config'
import {decodeSafetensors, encodeSafetensors, f32Tensor} from './formats/safetensors'
import {TensorBoardWriter} from './formats/tensorboard'
import {isLoraParam, mergedWeights} from './lora'
import {AttentionProducts} from './nn/layers'
import {Vlm} from './nn/vlm'
import {WorkerPool} from './parallel/pool'
import {ReplicaSpec, resolveWorkers} from './parallel/replica'
import {matchesAny} from './params'
import {Rng, RngState} from './rng'
import {lrFactor, ScheduleState} from './schedule'
import {TrainableModel, TrainingTask} from './task'
import {Tokenizer} from './tokenizer'

export const STATE_VERSION = 1

export interface TrainerState {
  version: number
  global_step: number
  epoch: number
  /** samples of this epoch's shuffled order already consumed */
  epoch_position: number
  rng: RngState
  scheduler: ScheduleState
  best_metric?: number
  backend: string
  /** attention's products in this run; absent in checkpoints written before per_head became the default (they ran batched) */
  attention?: AttentionProducts
  /** wasm: who computed the matrix products (native-kernels.ts); absent before the native kernels (then tfjs) */
  products?: 'openblas' | 'tfjs'
  /** set on the final checkpoint of a completed run */
  finished?: boolean
}

export interface TrainResult {
  /** the tfjs backend that ran, for run.json */
  backend: string
  step: number
  finished: boolean
  /** true when it returned because the runtime asked it to stop */
  stopped: boolean
  lastLoss?: number
  evalMetrics?: Record<string, number>
}

/** Which parameters train: LoRA adapters (+ modules_to_save) under LoRA, else everything; minus frozen patterns. */
export function trainableNames(model: TrainableModel, t: TrainerKeys): string[] {
  const frozen = [...t.freeze, ...(t.freeze_vision_tower ? ['vision'] : [])]
  return model.store.names().filter((name) => {
    if (matchesAny(name, frozen)) return false
    if (t.lora.rank > 0) return isLoraParam(name) || matchesAny(name, t.lora.modules_to_save)
    return true
  })
}

/** Shuffled sample order of one epoch: a pure function of (seed, epoch), so only the position needs saving. */
export function epochOrder(seed: number, epoch: number, size: number): number[] {
  return Rng.derive(seed, 0xe90c, epoch).shuffle(Array.from({length: size}, (_, i) => i))
}

export interface TrainerParts<M extends TrainableModel = Vlm> {
  backend: SelectedBackend
  model: M
  task: TrainingTask<M>
  tokenizer?: Tokenizer
  trainer: TrainerKeys
  /** how a worker thread rebuilds model and task; without it `trainer.workers` > 1 runs on one thread */
  replica?: ReplicaSpec
}

export class Trainer<M extends TrainableModel = Vlm> {
  readonly names: string[]
  readonly optimizer: AdamW
  private readonly groupLr = new Map<string, number>()
  private rng: Rng
  private step = 0
  private epoch = 0
  private position = 0
  private schedule: ScheduleState = {resumedAt: []}
  private bestMetric: number | undefined
  readonly stepsPerEpoch: number
  readonly totalSteps: number
  private tb?: TensorBoardWriter
  private resumedFinished = false
  /** data-parallel threads, the main one included (1 = the single-threaded loop) */
  readonly workers: number
  private pool?: WorkerPool
  /** attention's products (trainer.attention, or the resumed checkpoint's; see config.ts) */
  private attention: AttentionProducts = 'per_head'

  constructor(
    private readonly ctx: TrainerContext,
    private readonly parts: TrainerParts<M>,
  ) {
    const t = parts.trainer
    this.names = trainableNames(parts.model, t)
    if (this.names.length === 0) throw new Error('no trainable parameters: check trainer.freeze and trainer.lora')
    for (const name of this.names) {
      const group = t.param_groups.find((g) => matchesAny(name, g.patterns))
      this.groupLr.set(name, group ? group.lr : t.lr)
    }
    this.optimizer = new AdamW(parts.model.store, this.names, {beta1: t.beta1, beta2: t.beta2, eps: t.eps, weightDecay: t.weight_decay})
    this.rng = new Rng(t.seed ^ 0x7a11)
    const perStep = t.batch_size * t.grad_accum
    this.stepsPerEpoch = Math.floor(parts.task.trainSize / perStep)
    if (this.stepsPerEpoch < 1) throw new Error(`the training set (${parts.task.trainSize}) is smaller than batch_size × grad_accum (${perStep})`)
    this.totalSteps = t.max_steps > 0 ? t.max_steps : t.epochs * this.stepsPerEpoch
    if (t.tensorboard) this.tb = new TensorBoardWriter(path.join(ctx.workDir, 'tensorboard'))
    // per_head runs in XNNPACK on wasm (wasm-head-matmul.ts); elsewhere a batched product is one fast kernel
    this.setAttention(t.attention ?? (parts.backend.name === 'wasm' ? 'per_head' : 'batched'))
    // more threads than samples per micro-batch would idle
    this.workers = Math.min(resolveWorkers(t.workers), t.batch_size)
    if (this.workers > 1 && !parts.replica) {
      ctx.log(`trainer.workers ${t.workers}: this task cannot be rebuilt in a worker thread (no replica recipe), so it trains on one thread`)
      this.workers = 1
    }
    if (this.workers > 1 && parts.backend.name === 'tensorflow') {
      // libtensorflow already runs its kernels on every core
      ctx.log(`trainer.workers ${t.workers}: the tensorflow backend uses every core itself; training on one thread`)
      this.workers = 1
    }
  }

  private setAttention(mode: AttentionProducts): void {
    this.attention = mode
    // only models built from the core's attention have the switch; a plugin's own model may not
    if ('attentionProducts' in this.parts.model) this.parts.model.attentionProducts = mode
  }

  get globalStep(): number {
    return this.step
  }

  /** Restores from the newest checkpoint, if any; returns its step. */
  async resume(): Promise<number | undefined> {
    const latest = await this.ctx.checkpoints.loadLatest()
    if (!latest) return undefined
    const state = latest.state as unknown as TrainerState
    this.parts.model.store.load(decodeSafetensors(latest.files['model.safetensors']).tensors)
    this.optimizer.load(decodeSafetensors(latest.files['optimizer.safetensors']).tensors, state.global_step)
    this.step = state.global_step
    this.epoch = state.epoch
    this.position = state.epoch_position
    this.rng = new Rng(state.rng)
    this.schedule = {resumedAt: [...state.scheduler.resumedAt, state.global_step]}
    this.bestMetric = state.best_metric
    this.resumedFinished = state.finished === true
    // the mode the checkpoint's steps ran with, unless the config names one (the pool starts later, with the model's mode)
    const recorded = state.attention ?? 'batched'
    if (this.parts.trainer.attention === undefined) this.setAttention(recorded)
    else if (recorded !== this.attention)
      this.ctx.log(`note: checkpoint was written with trainer.attention ${recorded}, resuming with ${this.attention}; bitwise equality holds only with the same mode`)
    const products = state.products ?? (state.backend === 'wasm' ? 'tfjs' : undefined)
    const now = this.parts.backend.products
    if (products && now && state.backend === this.parts.backend.name && products !== now) {
      this.ctx.log(`note: checkpoint was written with ${products} matrix products, resuming with ${now} (RFM_NATIVE, native kernels); bitwise equality holds only with the same products`)
    }
    if (state.backend !== this.parts.backend.name) {
      this.ctx.log(`note: checkpoint was written on backend ${state.backend}, resuming on ${this.parts.backend.name}; bitwise equality holds only on the same backend`)
    }
    return latest.step
  }

  lrOf(name: string, step: number): number {
    const s = scheduleConfig(this.parts.trainer)
    return this.groupLr.get(name)! * lrFactor(s, step, this.totalSteps, this.stepsPerEpoch, this.schedule)
  }

  /** `lr` (the base rate after the schedule) and `lr_<group>` for each named parameter group */
  learningRates(step: number): Record<string, number> {
    const t = this.parts.trainer
    const factor = lrFactor(scheduleConfig(t), step, this.totalSteps, this.stepsPerEpoch, this.schedule)
    const out: Record<string, number> = {lr: t.lr * factor}
    for (const g of t.param_groups) out[`lr_${g.name}`] = g.lr * factor
    return out
  }

  private cachedOrder?: {epoch: number; order: number[]}

  private order(epoch: number): number[] {
    if (this.cachedOrder?.epoch !== epoch) this.cachedOrder = {epoch, order: epochOrder(this.parts.trainer.seed, epoch, this.parts.task.trainSize)}
    return this.cachedOrder.order
  }

  /** The next micro-batch's sample indices, advancing epoch and position (epoch boundaries are handled per optimizer step). */
  private nextIndices(): number[] {
    const t = this.parts.trainer
    const order = this.order(this.epoch)
    const indices = order.slice(this.position, this.position + t.batch_size)
    this.position += t.batch_size
    return indices
  }

  /** One optimizer step over grad_accum micro-batches; returns the mean loss and the pre-clip gradient norm. */
  trainStep(): {loss: number; gradNorm: number} {
    const tf = this.parts.backend.tf as typeof tfTypes
    const t = this.parts.trainer
    const store = this.parts.model.store
    // an epoch boundary is only crossed between optimizer steps, so one step never mixes epochs
    if (this.position + t.batch_size * t.grad_accum > this.parts.task.trainSize) {
      this.epoch += 1
      this.position = 0
    }
    const vars = this.names.map((n) => store.get(n))
    const nameOf = new Map(vars.map((v, i) => [v.name, this.names[i]]))
    let acc: Map<string, tfTypes.Tensor> | undefined
    let loss = 0
    for (let micro = 0; micro < t.grad_accum; micro++) {
      const indices = this.nextIndices()
      const {value, grads} = tf.variableGrads(() => tf.tidy(() => tf.div(this.parts.task.loss(this.parts.model, indices, this.rng), t.grad_accum) as tfTypes.Scalar), vars)
      loss += value.dataSync()[0]
      value.dispose()
      if (!acc) {
        acc = new Map(Object.entries(grads).map(([k, g]) => [nameOf.get(k)!, g]))
      } else {
        for (const [k, g] of Object.entries(grads)) {
          const name = nameOf.get(k)!
          const sum = tf.add(acc.get(name)!, g)
          acc.get(name)!.dispose()
          g.dispose()
          acc.set(name, sum)
        }
      }
    }
    return this.finishStep(acc!, loss)
  }

  /**
   * One optimizer step over grad_accum micro-batches, each split over `workers` threads (pool.ts).
   * A micro-batch's shard RNGs derive from one draw of the run's RNG, so the RNG state saved in a
   * checkpoint is all a resume needs, with any number of workers.
   */
  async trainStepParallel(): Promise<{loss: number; gradNorm: number}> {
    const {backend, model, task, trainer: t} = this.parts
    const tf = backend.tf as typeof tfTypes
    if (this.position + t.batch_size * t.grad_accum > task.trainSize) {
      this.epoch += 1
      this.position = 0
    }
    if (!this.pool) {
      this.pool = await WorkerPool.start(this.workers, backend, this.parts.replica!, model, this.names)
      this.ctx.log(`trainer.workers: data parallel over ${this.workers} threads (${this.workers - 1} worker thread(s) started)`)
    }
    const params = this.names.map((n) => model.store.get(n).dataSync() as Float32Array)
    let acc: Map<string, tfTypes.Tensor> | undefined
    let loss = 0
    for (let micro = 0; micro < t.grad_accum; micro++) {
      const seed = this.rng.nextUint32()
      const r = await this.pool.microBatch(tf, model, task, this.names, this.nextIndices(), seed, 1 / t.grad_accum, micro === 0 ? params : undefined)
      loss += r.loss
      if (!acc) acc = r.grads
      else
        for (const [name, g] of r.grads) {
          const prev = acc.get(name)
          acc.set(name, prev ? tf.add(prev, g) : g)
          if (prev) {
            prev.dispose()
            g.dispose()
          }
        }
    }
    return this.finishStep(acc!, loss)
  }

  /** Global-norm clipping and the optimizer update; returns the mean loss and the pre-clip gradient norm. */
  private finishStep(grads: Map<string, tfTypes.Tensor>, loss: number): {loss: number; gradNorm: number} {
    const tf = this.parts.backend.tf as typeof tfTypes
    const t = this.parts.trainer
    const normT = tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))))
    const gradNorm = normT.dataSync()[0]
    normT.dispose()
    if (t.max_grad_norm > 0 && gradNorm > t.max_grad_norm) {
      const scale = t.max_grad_norm / (gradNorm + 1e-6)
      for (const [name, g] of grads) {
        grads.set(name, tf.mul(g, scale))
        g.dispose()
      }
    }
    const step = this.step
    this.optimizer.apply(grads, (name) => this.lrOf(name, step))
    for (const g of grads.values()) g.dispose()
    this.step += 1
    return {loss, gradNorm}
  }

  state(): TrainerState {
    return {
      version: STATE_VERSION,
      global_step: this.step,
      epoch: this.epoch,
      epoch_position: this.position,
      rng: this.rng.state(),
      scheduler: this.schedule,
      best_metric: this.bestMetric,
      backend: this.parts.backend.name,
      // a plugin's own model without the switch runs its attention batched; nothing to record
      attention: 'attentionProducts' in this.parts.model ? this.attention : undefined,
      products: this.parts.backend.products,
      finished: this.step >= this.totalSteps,
    }
  }

  checkpointFiles(final: boolean): CheckpointFiles {
    const store = this.parts.model.store
    const meta = {format: 'pt', producer: 'rfm', layout: 'linear weights are [in, out]'}
    const files: CheckpointFiles = {
      'model.safetensors': encodeSafetensors(store.toSafe(), meta),
      'optimizer.safetensors': encodeSafetensors(this.optimizer.stateTensors(), {format: 'pt', step: String(this.optimizer.step)}),
      'model_config.json': Buffer.from(JSON.stringify(this.parts.model.config)),
    }
    if (this.parts.tokenizer) files['tokenizer.json'] = Buffer.from(JSON.stringify(this.parts.tokenizer.toJSON()))
    const lora = this.parts.model.lora
    if (final && lora) {
      const merged: Record<string, ReturnType<typeof f32Tensor>> = {}
      for (const [name, {shape, values}] of mergedWeights(store, lora)) merged[name] = f32Tensor(shape, values)
      files['merged.safetensors'] = encodeSafetensors(merged, meta)
    }
    return files
  }

  private async save(final: boolean, metrics?: Record<string, number>): Promise<void> {
    await this.ctx.checkpoints.save(this.step, this.checkpointFiles(final), this.state() as unknown as Record<string, unknown>, {metrics, final})
  }

  private log(values: Record<string, number>): void {
    this.ctx.logMetrics(this.step, values)
    this.tb?.scalars(this.step, values)
  }

  /** Runs until the last step or until the runtime asks to stop (then saves and returns). */
  async train(): Promise<TrainResult> {
    const t = this.parts.trainer
    const {task, model} = this.parts
    let lastLoss: number | undefined
    let evalMetrics: Record<string, number> | undefined
    let savedAt = -1
    if (this.state().finished && this.resumedFinished) return {backend: this.parts.backend.name, step: this.step, finished: true, stopped: false}
    while (this.step < this.totalSteps) {
      const lrs = this.learningRates(this.step)
      const {loss, gradNorm} = this.workers > 1 ? await this.trainStepParallel() : this.trainStep()
      lastLoss = loss
      if (this.step % t.logging_steps === 0 || this.step === this.totalSteps) {
        this.log({loss, grad_norm: gradNorm, ...lrs, epoch: this.epoch + this.position / task.trainSize})
      }
      if (task.evaluate && t.eval_steps > 0 && this.step % t.eval_steps === 0) {
        evalMetrics = task.evaluate(model)
        this.log(evalMetrics)
        if (evalMetrics.eval_loss !== undefined && (this.bestMetric === undefined || evalMetrics.eval_loss < this.bestMetric)) this.bestMetric = evalMetrics.eval_loss
      }
      if (t.save_steps > 0 && this.step % t.save_steps === 0 && this.step < this.totalSteps) {
        await this.save(false, evalMetrics)
        savedAt = this.step
      }
      // let signal handlers run: training is synchronous, and SIGTERM only reaches JS via the event loop
      await new Promise((resolve) => setImmediate(resolve))
      if (this.ctx.stopRequested() && this.step < this.totalSteps) {
        if (savedAt !== this.step) await this.save(false)
        this.ctx.log(`stop requested: checkpoint at step ${this.step} saved`)
        return {backend: this.parts.backend.name, step: this.step, finished: false, stopped: true, lastLoss, evalMetrics}
      }
    }
    if (task.evaluate && (!evalMetrics || t.eval_steps === 0 || this.step % t.eval_steps !== 0)) {
      evalMetrics = task.evaluate(model)
      this.log(evalMetrics)
    }
    await this.save(true, evalMetrics)
    this.ctx.log(`training finished at step ${this.step} (${describeBackend(this.parts.backend)})`)
    return {backend: this.parts.backend.name, step: this.step, finished: true, stopped: false, lastLoss, evalMetrics}
  }

  dispose(): void {
    void this.pool?.terminate()
    this.pool = undefined
    this.optimizer.dispose()
  }
}
