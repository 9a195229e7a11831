import {existsSync} from 'node:fs'
import * as path from 'node:path'

import type {JobKind, PluginApi} from '@rfm/plugin-api'

import {checkVlaConfig, isExternal, VlaConfig, vlaConfigSchema} from './config'
import {externalCommand} from './external'
import {loadFormats} from './formats'
import {directoryDataset} from './sessions'

/** The seed's numeric and choice flags (--lr, --sensor-lr, --grad-accum-steps, ...) as launch flags writing the same-named keys. */
function seedFlags(): NonNullable<JobKind['launchFlags']> {
  const numbers = [
    'lr',
    'min_lr',
    'sensor_lr',
    'vl_lr',
    'vision_lr',
    'warmup_ratio',
    'hold_ratio',
    'grad_accum_steps',
    'batch_size',
    'num_workers',
    'lora_r',
    'lora_alpha',
    'lora_dropout',
    'unfreeze_last_n',
    'sensor_input_channels',
    'sensor_temporal_length',
    'sensor_output_dim',
    'sensor_loss_weight',
    'epochs',
    'max_samples',
  ]
  const flags: NonNullable<JobKind['launchFlags']> = Object.fromEntries(
    numbers.map((key) => [key.replace(/_/g, '-'), {path: key, type: 'number' as const, description: `The seed's --${key.replace(/_/g, '-')} (config key ${key}).`}]),
  )
  flags['sched-on'] = {path: 'sched_on', type: 'string', options: ['step', 'epoch'], description: "The seed's --sched-on step|epoch."}
  return flags
}

/** Job kinds of @rfm/plugin-vla-sensor. rfm calls this with its plugin API when a job kind is needed. */
export default function kinds(api: PluginApi): JobKind[] {
  const schema = vlaConfigSchema(api.z, api.trainerConfig)
  return [
    api.defineJobKind<VlaConfig>({
      name: 'vla-sensor',
      summary:
        'Vision-language-action training with optional force/OCT sensor fusion (pipeline 002). Launch flags: --sensor-enabled/--no-sensor-enabled, ' +
        '--fusion-strategy concat|cross_attention|gated|none, --sampler random|balanced, --finetune-vl none|lora|full, --stage1-checkpoint RUN[@best], --external (trainer_mode: external), --mode train|cache.',
      schema,
      image: 'vla-sensor',
      datasetFields: ['data.sessions_dir', 'vl_cache'],
      // the script gets keys rfm does not know as written (external, train or cache mode)
      passesUnknownKeys: (raw) => api.trainerConfig.trainsExternally(raw),
      checkpointFields: ['stage1_checkpoint'],
      launchFlags: {
        'sensor-enabled': {path: 'sensor_enabled', type: 'boolean', description: 'Train the sensor encoder and fuse its features (off: sensor data is ignored even when present).'},
        'fusion-strategy': {path: 'fusion_strategy', type: 'string', options: ['concat', 'cross_attention', 'gated', 'none'], description: 'How VL and sensor features combine.'},
        sampler: {path: 'sampler', type: 'string', options: ['random', 'balanced'], description: 'balanced oversamples sensor sessions (weight ≈ without ÷ with).'},
        'finetune-vl': {path: 'finetune_vl', type: 'string', options: ['none', 'lora', 'full'], description: 'How the VL layers train.'},
        'stage1-checkpoint': {path: 'stage1_checkpoint', type: 'string', description: "Two-stage training: start from this run's checkpoint (RUN, RUN@best, ...)."},
        external: {path: 'trainer_mode', type: 'boolean', description: "Run the pipeline's own script instead of the built-in trainer (config key trainer_mode: external)."},
        mode: {path: 'mode', type: 'string', options: ['train', 'cache'], description: "External mode: the script's --mode, train (default) or cache (its VL feature cache step)."},
        // the seed's own flag names (5st_VLA_TRAIN_VL_Lora_with_sensor.py)
        ...seedFlags(),
      },
      // hooks get the validated config (the host parses it once per process)
      estimate(c) {
        if (!isExternal(c)) return {gpus: 0, gpuMemoryGiB: 0, cpus: 2, memoryGiB: 4}
        // the pipeline's script: Qwen2.5-VL-3B (+ a small sensor encoder), one process per GPU under torchrun
        const launched = api.launcherGpus(c.external.launcher)
        const gpus = launched ?? 1
        return {
          gpus,
          ...(launched === undefined ? {} : {gpusFixed: true}),
          gpuMemoryGiB: c.finetune_vl === 'full' ? 40 : 24,
          cpus: Math.max(4, (c.num_workers + 1) * gpus),
          memoryGiB: 32 * gpus,
          work: {samples: 98_709, epochs: c.epochs, notes: "the seed's 37 sessions; VL features come from the cache"},
          workload: {
            name: 'qwen-vla-sensor',
            kind: 'vla',
            model: {name: 'Qwen/Qwen2.5-VL-3B-Instruct', params_b: 3.75, vision_params_b: 0.67},
            method: c.finetune_vl === 'full' ? 'full' : c.finetune_vl === 'lora' ? 'lora' : 'frozen_vision',
            lora_rank: c.lora_r,
            per_device_train_batch_size: c.batch_size,
            gradient_accumulation_steps: c.grad_accum_steps,
            seq_len: 64,
            frames: 2,
            samples: 98_709,
            epochs: c.epochs,
            learning_rate: c.lr,
            lr_tuned_for_gpus: gpus,
          },
        }
      },
      async prepare(config, baseDir) {
        const c = config
        checkVlaConfig(api, c)
        // a local sessions folder is read at launch (meta.json, actions), so a bad file exits 2 before any attempt
        const sessions = c.data.source === 'dir' && c.data.sessions_dir && !/^(ds:|[a-z][a-z0-9+.-]*:\/\/)/i.test(c.data.sessions_dir) ? path.resolve(baseDir, c.data.sessions_dir) : undefined
        if (sessions && existsSync(sessions)) {
          const formats = await loadFormats(api)
          try {
            await directoryDataset(formats, sessions, c.data.val_ratio, {t: c.sensor_temporal_length, c: c.sensor_input_channels})
          } catch (error) {
            if (error instanceof formats.FormatError) throw error
            throw api.configError('data.sessions_dir', (error as Error).message)
          }
        }
        // mode builtin, the old default, says nothing trainer_mode does not (it picks the trainer)
        const resolved = {...config}
        if (resolved.mode === 'builtin') delete resolved.mode
        if (isExternal(c)) resolved.external = {...c.external, workdir: path.resolve(baseDir, c.external.workdir)}
        return resolved
      },
      retention: (config) => ({saveTotalLimit: config.save_total_limit, bestMetric: 'eval_loss', greaterIsBetter: false}),
      external(c, context) {
        return isExternal(c) ? externalCommand(api, c, context.runId, context.given) : undefined
      },
      async train(ctx) {
        // tfjs and the model load only inside the job, never at CLI start-up
        const {trainVla} = await import('./train.js')
        const result = await trainVla(api, ctx)
        return {backend: result.backend, step: result.step, finished: result.finished}
      },
    }),
  ]
}
