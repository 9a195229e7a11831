/**
 * Config keys of the vla-sensor kind: the pipeline's flags as snake_case keys with its defaults
 * (5st_VLA_TRAIN_VL_Lora_with_sensor.py), plus what only the built-in trainer has (data source,
 * model sizes, seed) and the external mode.
 */
import type {PluginApi} from '@rfm/plugin-api'

import {SENSOR_C, SENSOR_T} from './synthetic'

export function vlaConfigSchema(z: PluginApi['z'], tc: PluginApi['trainerConfig']) {
  return z
    .object({
      ...tc.trainerModeShape,
      mode: z
        .enum(['builtin', 'external', 'train', 'cache'])
        .optional()
        // the trainer is chosen by trainer_mode, as in every kind (issue 22); mode is the script's own --mode.
        // builtin, the old default every recorded run holds, still parses (it means train to the script)
        .refine((v) => v !== 'external', '"train" or "cache" (the script\'s --mode; builtin / external is the top-level trainer_mode now)')
        .describe(
          "External mode: the script's --mode, train (default) or cache (its VL feature cache step, as a job). Which trainer runs is trainer_mode: builtin (default) or trainer_mode: external (--external).",
        ),
      data: z
        .object({
          source: z.enum(['generated', 'dir']).default('generated'),
          sessions_dir: z.string().optional().describe('With source: dir, a folder of sessions (see the plugin README for the layout).'),
          val_ratio: z.number().min(0).max(0.5).default(0.2).describe('Every round(1/val_ratio)-th session of each kind (with / without sensor) is held out.'),
          generated: z
            .object({
              seed: z.number().int().default(7),
              sessions: z.number().int().min(2).default(72),
              sensor_every: z.number().int().min(1).default(18).describe("One session in N has sensor data (the seed's data: 10 of 37 sessions, 5.5 % of samples ≈ 1 in 18)."),
              steps_per_session: z.number().int().min(1).default(16),
              views: z.number().int().min(1).default(2),
              image_size: z.number().int().min(4).default(32),
            })
            .strict()
            .default({}),
        })
        .strict()
        .default({}),
      vl_cache: z.string().nullable().default(null).describe('VL feature cache folder (or ds: reference) built by `rfm vla-sensor cache`; null computes the features in the job.'),
      vl_encoder: z
        .object({seed: z.number().int().default(1234), feature_dim: z.number().int().min(4).default(64), grid: z.number().int().min(2).default(8)})
        .strict()
        .default({}),
      sensor_enabled: z.boolean().default(false),
      sensor_input_channels: z.number().int().min(2).default(SENSOR_C),
      sensor_temporal_length: z.number().int().min(1).default(SENSOR_T),
      sensor_output_dim: z
        .number()
        .int()
        .min(1)
        .default(64)
        .describe("Built-in trainer: 64 (its VL width); the seed's script defaults to 3072 (its VL width) and gets this only when set. Fusion none needs it equal to model.width (built-in)."),
      fusion_strategy: z.enum(['concat', 'cross_attention', 'gated', 'none']).default('concat'),
      sensor_loss_weight: z.number().min(0).default(2),
      sampler: z.enum(['random', 'balanced']).default('random').describe('balanced: each sensor sample appears round(without ÷ with) times per epoch.'),
      stage1_checkpoint: z.string().nullable().default(null).describe("Two-stage training: start from this run's checkpoint (RUN, RUN@best, RUN@final, RUN@latest, RUN@<step>)."),
      rewarm_steps: z.number().int().min(0).default(0).describe('ReWarm: after starting from a stage-1 checkpoint, ramp every learning rate up over this many steps.'),
      lr: z.number().positive().default(1e-4),
      min_lr: z.number().min(0).default(1e-6),
      sensor_lr: z.number().positive().default(5e-4),
      vl_lr: z.number().positive().default(1e-5),
      vision_lr: z.number().positive().default(5e-6),
      finetune_vl: z.enum(['none', 'lora', 'full']).default('lora'),
      lora_r: z.number().int().min(1).default(16),
      lora_alpha: z.number().positive().default(32),
      lora_dropout: z.number().min(0).max(1).default(0.05),
      unfreeze_last_n: z.number().int().min(0).default(2),
      warmup_ratio: z.number().min(0).max(1).default(0.03),
      hold_ratio: z.number().min(0).max(1).default(0.02),
      sched_on: z.enum(['step', 'epoch']).default('step'),
      grad_accum_steps: z.number().int().min(1).default(8),
      batch_size: z.number().int().min(1).default(1),
      num_workers: z.number().int().min(0).default(4).describe('Accepted for the external script; the built-in trainer loads in-process.'),
      epochs: z.number().int().min(1).default(20),
      max_steps: tc.maxStepsSchema(),
      save_total_limit: z.number().int().min(1).default(3),
      max_samples: z.number().int().min(1).optional().describe('Quick validation run: external mode passes --max-samples N to the script; the built-in trainer uses at most N training samples.'),
      outputs: z
        .array(
          z
            .string()
            .min(1)
            .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'a path relative to the workdir, inside it'),
        )
        .optional()
        .describe(
          "External mode: files or folders (relative to external.workdir) uploaded to the run's store at the end of every attempt; default the script's _best.pt and _final.pt beside its checkpoint, and logs/. rfm cloud outputs RUN pulls them.",
        ),
      builtin: z
        .object({
          // the seed script's AdamW weight decay (torch's default 0.01), not HF's 0
          ...tc.builtinTrainerShape(['seed', 'weight_decay', 'max_grad_norm', 'tensorboard'], {weight_decay: 0.01}),
          // max_steps is top level in every kind (issue 22)
          max_steps: tc.movedMaxSteps(),
          model: z
            .object({
              width: z.number().int().min(8).default(64),
              vl_depth: z.number().int().min(1).default(2),
              heads: z.number().int().min(1).default(4),
              hidden: z.number().int().min(8).default(128),
              sensor_channels: z.number().int().min(1).default(32),
              sensor_strides: z.tuple([z.number().int().min(1), z.number().int().min(1), z.number().int().min(1)]).default([5, 5, 2]),
            })
            .strict()
            .default({}),
        })
        .strict()
        .default({}),
      external: z
        .object({
          script: z.string().default('5st_VLA_TRAIN_VL_Lora_with_sensor.py'),
          workdir: z.string().default('.'),
          python: z.string().default('python3'),
          launcher: z.array(z.string()).default([]).describe('e.g. [torchrun, --nproc_per_node=4]; empty runs the script with `python`.'),
          checkpoint_dir: z.string().default('checkpoints'),
          checkpoint_file: z.string().default('qwen_vla_sensor.pt'),
        })
        .strict()
        .default({}),
    })
    .strict()
}

export type VlaConfig = ReturnType<ReturnType<typeof vlaConfigSchema>['parse']>

/** Whether the pipeline's own script runs (train or cache step): trainer_mode: external, the one switch of every two-trainer kind. */
export function isExternal(c: Pick<VlaConfig, 'trainer_mode'>): boolean {
  return c.trainer_mode === 'external'
}

/** Semantic checks the schema cannot express. */
export function checkVlaConfig(api: Pick<PluginApi, 'configError'>, c: VlaConfig): void {
  // the checks below are the built-in model's; the seed's script checks its own flags
  if (isExternal(c)) return
  // mode train (the seed's name, which used to switch to the script) and cache are the script's --mode
  if (c.mode === 'train' || c.mode === 'cache')
    throw api.configError(
      'mode',
      `mode ${c.mode} is the pipeline script's --mode, but trainer_mode is builtin`,
      "One switch for every kind: add trainer_mode: external (or --external) to run the script; rfm vla-sensor cache builds the built-in trainer's cache.",
    )
  if (c.data.source === 'dir' && !c.data.sessions_dir)
    throw api.configError('data.sessions_dir', 'data.source is dir but no sessions_dir is given', 'Point data.sessions_dir at a folder of sessions, or use data.source: generated.')
  const m = c.builtin.model
  if (m.width % m.heads) throw api.configError('builtin.model.heads', `width ${m.width} is not divisible by heads ${m.heads}`)
  if (c.sensor_enabled && c.fusion_strategy === 'none' && c.sensor_output_dim !== m.width)
    throw api.configError(
      'sensor_output_dim',
      `fusion_strategy none adds the sensor features to the VL features, so sensor_output_dim (${c.sensor_output_dim}) must equal builtin.model.width (${m.width})`,
      'The seed says the same: "Must match VL dimension".',
    )
  const span = m.sensor_strides.reduce((a, b) => a * b, 1)
  if (c.sensor_enabled && c.sensor_temporal_length < span)
    throw api.configError('sensor_temporal_length', `${c.sensor_temporal_length} steps are fewer than the sensor encoder's total stride ${span} (builtin.model.sensor_strides)`)
  if (c.finetune_vl === 'full' && c.unfreeze_last_n > m.vl_depth) throw api.configError('unfreeze_last_n', `${c.unfreeze_last_n} is more than the VL blocks (builtin.model.vl_depth ${m.vl_depth})`)
}
