/**
 * Trains the VLA model from a vla-sensor config on the trainer core's loop (AdamW, parameter
 * groups, LoRA, warmup_hold_cosine, grad accumulation, exact resume). What this file adds around
 * the loop: the data and VL features, the model, stage 2 from a stage-1 run, ReWarm, the metric
 * names of the pipeline (train/…, val/…, params/…, lora/…, system/…), and the per-epoch
 * checkpoints (latest each epoch, best by val loss, final) holding epoch and val_loss.
 */
import * as os from 'node:os'

import * as path from 'node:path'

import type {PluginApi, ReplicaFactory, ReplicaSpec, TrainerContext} from '@rfm/plugin-api'

import {checkVlaConfig, VlaConfig, vlaConfigSchema} from './config'
import {loadFormats} from './formats'
import {LoraSpec, VlaModel, VlaModelConfig} from './model'
import {directoryDataset, generatedDataset, VlaDataset} from './sessions'
import {ACTION_DIM, HORIZON} from './synthetic'
import {VlaTask} from './task'
import type {TrainerCore as TrainerModule} from '@rfm/plugin-api'
import {buildFeatures, readCache} from './vl-cache'
import {EncoderSpec} from './vl-encoder'

export function encoderSpec(c: VlaConfig): EncoderSpec {
  return {kind: 'random-features-v1', seed: c.vl_encoder.seed, featureDim: c.vl_encoder.feature_dim, grid: c.vl_encoder.grid}
}

export async function loadDataset(api: Pick<PluginApi, 'loadFormats'>, trainer: TrainerModule, c: VlaConfig): Promise<VlaDataset> {
  const all = await loadAllSamples(api, trainer, c)
  if (c.max_samples === undefined) return all
  // --max-samples N: a quick validation run on at most N training and N held-out samples
  let train = 0
  let val = 0
  const samples = all.samples.filter((s) => (all.valSessions.has(s.session) ? val++ < c.max_samples! : train++ < c.max_samples!))
  return {...all, samples}
}

async function loadAllSamples(api: Pick<PluginApi, 'loadFormats'>, trainer: TrainerModule, c: VlaConfig): Promise<VlaDataset> {
  const sensorShape = {t: c.sensor_temporal_length, c: c.sensor_input_channels}
  if (c.data.source === 'dir') return directoryDataset(await loadFormats(api), c.data.sessions_dir!, c.data.val_ratio, sensorShape)
  const g = c.data.generated
  return generatedDataset(
    trainer.Rng,
    {seed: g.seed, sessions: g.sessions, sensorEvery: g.sensor_every, stepsPerSession: g.steps_per_session, views: g.views, imageSize: g.image_size, sensorT: sensorShape.t, sensorC: sensorShape.c},
    c.data.val_ratio,
  )
}

export function modelConfigOf(c: VlaConfig, views: number): VlaModelConfig {
  const m = c.builtin.model
  return {
    views,
    featureDim: c.vl_encoder.feature_dim,
    width: m.width,
    vlDepth: m.vl_depth,
    heads: m.heads,
    sensorEnabled: c.sensor_enabled,
    sensorT: c.sensor_temporal_length,
    sensorC: c.sensor_input_channels,
    sensorChannels: m.sensor_channels,
    sensorOutputDim: c.sensor_output_dim,
    sensorStrides: m.sensor_strides,
    fusion: c.fusion_strategy,
    hidden: m.hidden,
    horizon: HORIZON,
    actionDim: ACTION_DIM,
  }
}

/** finetune_vl → which parameters train, and the four learning rates as parameter groups. */
export function trainerKeys(trainer: TrainerModule, c: VlaConfig, stepsPerEpochHint?: number) {
  const depth = c.builtin.model.vl_depth
  const freeze = c.finetune_vl === 'none' ? ['vl', 'vision'] : c.finetune_vl === 'full' ? Array.from({length: depth - c.unfreeze_last_n}, (_, i) => `vl.blocks.${i}`) : []
  // the seed's names → Hugging Face's, through the core's one mapping
  const hf = {
    ...c.builtin,
    max_steps: c.max_steps,
    num_train_epochs: c.epochs,
    per_device_train_batch_size: c.batch_size,
    gradient_accumulation_steps: c.grad_accum_steps,
    learning_rate: c.lr,
    logging_steps: 1,
    eval_steps: stepsPerEpochHint ?? 0,
    save_steps: stepsPerEpochHint ?? 0,
  }
  return trainer.fromHfTrainingArgs(hf, {
    extra: {
      param_groups: [
        {name: 'sensor', patterns: ['sensor'], lr: c.sensor_lr},
        {name: 'vl', patterns: ['vl'], lr: c.vl_lr},
        {name: 'vision', patterns: ['vision'], lr: c.vision_lr},
      ],
      freeze,
      lora: c.finetune_vl === 'lora' ? {rank: c.lora_r, alpha: c.lora_alpha, dropout: c.lora_dropout, modules_to_save: ['sensor', 'fusion', 'action']} : {rank: 0},
      scheduler: {kind: 'warmup_hold_cosine', warmup_ratio: c.warmup_ratio, hold_ratio: c.hold_ratio, min_lr: c.min_lr, per: c.sched_on, rewarm_steps: 0},
    },
  })
}

export interface VlaParts {
  trainer: TrainerModule
  data: VlaDataset
  features: Float32Array
  model: VlaModel
  task: VlaTask
}

/** Data, VL features (from the cache when given), model and task for a config. */
export async function buildParts(api: PluginApi, c: VlaConfig, log: (line: string) => void, backendTf: VlaModel['tf']): Promise<VlaParts> {
  const trainer = await api.loadTrainer()
  const data = await loadDataset(api, trainer, c)
  const spec = encoderSpec(c)
  let features: Float32Array
  if (c.vl_cache) {
    features = readCache(await loadFormats(api), c.vl_cache, data, spec)
    log(`VL features: read from the cache ${c.vl_cache}`)
  } else {
    features = buildFeatures(trainer.Rng, data, spec)
    log('VL features: no vl_cache given, computed in the job (build one with `rfm vla-sensor cache` to share it between runs)')
  }
  const {model, task} = modelAndTask(trainer, backendTf, c, data, features)
  return {trainer, data, features, model, task}
}

function modelAndTask(trainer: TrainerModule, tf: VlaModel['tf'], c: VlaConfig, data: VlaDataset, features: Float32Array): {model: VlaModel; task: VlaTask} {
  const lora: LoraSpec | undefined = c.finetune_vl === 'lora' ? {rank: c.lora_r, alpha: c.lora_alpha, dropout: c.lora_dropout} : undefined
  const model = new VlaModel(trainer, tf, modelConfigOf(c, data.views), new trainer.Rng(c.builtin.seed), lora)
  const task = new VlaTask(data, features, model, {sensorEnabled: c.sensor_enabled, sensorLossWeight: c.sensor_loss_weight, sampler: c.sampler})
  return {model, task}
}

/**
 * The replica recipe (`builtin.workers` > 1): a worker thread reloads the samples (generated, or
 * read from sessions_dir) and takes the run's VL features as they are; the trainer then gives it the
 * run's weights. This module is the recipe's own, so that nothing imports it back.
 */
export function vlaReplicaSpec(c: VlaConfig, features: Float32Array): ReplicaSpec {
  return {module: path.join(__dirname, 'train.js'), export: 'vlaReplica', args: {config: c, features}}
}

export const vlaReplica: ReplicaFactory<{config: VlaConfig; features: Float32Array}, VlaModel> = async ({config, features}, {backend, trainer, loadFormats}) => {
  const data = await loadDataset({loadFormats}, trainer, config)
  return modelAndTask(trainer, backend.tf as VlaModel['tf'], config, data, features)
}

interface VlaState {
  /** train loss sum and step count of the current epoch (train/loss_epoch survives a resume) */
  vla_epoch_loss?: [number, number]
  val_loss?: number
}

export async function trainVla(api: PluginApi, ctx: TrainerContext) {
  // in-process callers (tests) hand raw configs; the runtime's is already valid
  const c = vlaConfigSchema(api.z, api.trainerConfig).parse(ctx.config)
  checkVlaConfig(api, c)
  const trainer = await api.loadTrainer()
  const backend = await trainer.selectBackend(c.builtin.backend)
  ctx.log(`trainer backend: ${trainer.describeBackend(backend)}`)
  const parts = await buildParts(api, c, (l) => ctx.log(l), backend.tf as VlaModel['tf'])
  const {model, task, data} = parts
  try {
    const perStep = c.batch_size * c.grad_accum_steps
    const stepsPerEpoch = Math.floor(task.trainSize / perStep)
    if (stepsPerEpoch < 1) throw api.configError('batch_size', `the training set (${task.trainSize} samples) is smaller than batch_size × grad_accum_steps (${perStep})`)
    const keys = trainerKeys(trainer, c, stepsPerEpoch)
    const nSensor = task.train.filter((i) => data.samples[i].hasSensor).length
    ctx.log(
      `data: ${data.samples.length} samples (${task.train.length} train, ${task.val.length} val); ${nSensor} train samples with sensor (${((100 * nSensor) / Math.max(1, task.train.length)).toFixed(1)} %); sampler ${c.sampler}${c.sampler === 'balanced' ? ` (sensor weight ${task.sensorWeight})` : ''}`,
    )

    const latest = await ctx.checkpoints.loadLatest()
    const restored = (latest?.state ?? {}) as VlaState
    // stage 2: the sensor-enabled model starts from a stage-1 run's weights (missing parameters keep their init)
    if (c.stage1_checkpoint && !latest) {
      if (!ctx.loadRunCheckpoint) throw new Error("this rfm runtime cannot read another run's checkpoint (TrainerContext.loadRunCheckpoint)")
      const stage1 = await ctx.loadRunCheckpoint(c.stage1_checkpoint)
      const missing = model.store.loadMatching(trainer.decodeSafetensors(stage1.files['model.safetensors']).tensors)
      ctx.log(`stage 2: started from ${stage1.runId} step ${stage1.step}; new parameters: ${missing.length ? missing.join(', ') : 'none'}`)
    }

    let epochLoss: [number, number] = restored.vla_epoch_loss ?? [0, 0]
    const trainable = trainer.trainableNames(model, keys)
    const total = model.store.count()
    const trainableCount = model.store.count(trainable)
    const memory = () => ({'system/cpu_mem_%': (100 * (os.totalmem() - os.freemem())) / os.totalmem(), 'system/rss_GB': process.memoryUsage().rss / 2 ** 30})
    const loraAbs = () => {
      const names = model.store.names().filter((n) => n.endsWith('.lora_A') || n.endsWith('.lora_B'))
      if (!names.length) return {}
      let sum = 0
      let n = 0
      for (const name of names) {
        const v = model.store.get(name).dataSync() as Float32Array
        for (const x of v) sum += Math.abs(x)
        n += v.length
      }
      return {'lora/avg_weight_abs': sum / n}
    }
    const wrapped: TrainerContext = {
      ...ctx,
      logMetrics(step, values) {
        const out: Record<string, number> = {}
        for (const [k, v] of Object.entries(values)) {
          if (k === 'loss') {
            out['train/loss_step'] = v
            epochLoss = [epochLoss[0] + v, epochLoss[1] + 1]
          } else if (k === 'grad_norm') out['train/grad_norm'] = v
          else if (k === 'lr' || k.startsWith('lr_')) out[`train/${k}`] = v * rewarm(step - 1)
          else if (k === 'epoch') out['train/epoch'] = v
          else if (k === 'eval_loss') out['val/loss_epoch'] = v
          else if (k.startsWith('eval_')) out[`val/${k.slice(5)}`] = v
          else out[k] = v
        }
        if ('loss' in values) {
          out['train/sensor_samples'] = task.sensorSeen
          task.sensorSeen = 0
        }
        if ('eval_loss' in values) {
          const epoch = Math.max(0, Math.ceil(step / stepsPerEpoch) - 1)
          out['train/loss_epoch'] = epochLoss[1] ? epochLoss[0] / epochLoss[1] : 0
          out['train/sensor_ratio'] = task.sensorRatio(trainer.epochOrder(keys.seed, epoch, task.trainSize), stepsPerEpoch * perStep)
          Object.assign(out, memory(), loraAbs())
          epochLoss = [0, 0]
        }
        ctx.logMetrics(step, out)
      },
      checkpoints: {
        loadLatest: () => ctx.checkpoints.loadLatest(),
        save: (step, files, state, options) => {
          const extra: VlaState = {vla_epoch_loss: epochLoss}
          if (options?.metrics?.eval_loss !== undefined) extra.val_loss = options.metrics.eval_loss
          // what `rfm vla-sensor predict` needs besides the weights: the VL encoder and the LoRA shape
          const vla = {encoder: encoderSpec(c), lora: model.lora ?? null}
          return ctx.checkpoints.save(step, {...files, 'vla.json': Buffer.from(JSON.stringify(vla))}, {...state, ...extra}, options)
        },
      },
    }
    // ReWarm: a stage-2 run ramps every rate up again from the stage-1 weights. A pure function of the
    // step, so a spot interruption and exact resume inside this run change nothing (bitwise).
    const rewarm = (step: number) => (c.stage1_checkpoint && c.rewarm_steps > 0 ? Math.min(1, (step + 1) / c.rewarm_steps) : 1)
    class VlaTrainer extends trainer.Trainer<VlaModel> {
      override lrOf(name: string, step: number): number {
        return super.lrOf(name, step) * rewarm(step)
      }
    }
    const loop = new VlaTrainer(wrapped, {backend, model, task, trainer: keys, replica: vlaReplicaSpec(c, parts.features)})
    try {
      const resumed = await loop.resume()
      if (resumed === undefined) wrapped.logMetrics(0, {'params/trainable_M': trainableCount / 1e6, 'params/frozen_M': (total - trainableCount) / 1e6})
      ctx.log(resumed === undefined ? `starting at step 0 of ${loop.totalSteps} (${stepsPerEpoch} steps per epoch)` : `resumed from checkpoint at step ${resumed} of ${loop.totalSteps}`)
      return await loop.train()
    } finally {
      loop.dispose()
    }
  } finally {
    model.dispose()
  }
}
