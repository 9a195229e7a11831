/**
 * Config keys of the rm-eval kind: the pipeline's own keys (train_rm.py's YAML), kept as they are,
 * plus a `builtin` block for what only the built-in trainer has (model size, seed, generated data).
 */
import type {PluginApi} from '@rfm/plugin-api'

import {FAMILIES, SIZES} from './presets'

/** Keys the pipeline accepts that mean nothing to the built-in trainer: accepted, and reported as such. */
export const NOT_APPLICABLE = ['attn_implementation', 'gradient_checkpointing', 'deepspeed', 'bf16'] as const

/** `mode: train | eval`; `rfm cloud launch rm-eval --eval` sets it to eval (true/false from the launch flag). */
export function modeSchema(z: PluginApi['z']) {
  return z.preprocess((v) => (v === true ? 'eval' : v === false ? 'train' : v), z.enum(['train', 'eval'])).default('train')
}

/** The external mode: the pipeline's own train_rm.py / eval_rm.py, run by its launcher. */
export function externalSchema(z: PluginApi['z']) {
  return z
    .object({
      workdir: z.string().min(1).describe("The pipeline's checkout (train_rm.py, eval_rm.py), relative to the config file; staged to the store at launch."),
      launcher: z.enum(['torchrun', 'accelerate', 'deepspeed', 'python']).default('torchrun').describe('How the script is started on the GPUs (run_distributed.sh uses torchrun).'),
      gpus: z.number().int().min(1).optional().describe("GPUs on the machine (processes per node); default: the size preset's."),
      master_port: z.number().int().min(1).max(65535).default(29500),
      python: z.string().default('python'),
      train_script: z.string().default('train_rm.py'),
      eval_script: z.string().default('eval_rm.py'),
      preset: z
        .enum([...SIZES, 'auto'])
        .default('auto')
        .describe('Model size for the estimates; auto reads it from model_name_or_path.'),
      family: z.enum([...FAMILIES, 'auto']).default('auto'),
      train_samples: z.number().int().min(1).optional().describe('Training pairs, for the runtime estimate when max_train_samples is not set (default 30000).'),
      extra_keys: z
        .record(z.unknown())
        .default({})
        .describe("More keys of train_rm.py / eval_rm.py that rfm does not know (e.g. max_steps, save_total_limit), written into the script's config file as they are."),
      extra_args: z.array(z.string()).default([]).describe('Arguments after the config file (run_distributed.sh\'s "-- EXTRA_ARGS").'),
      resume_args: z.array(z.string()).default(['--resume_from_checkpoint', 'True']).describe('Added when rfm restored a checkpoint into output_dir.'),
      complete_marker: z.string().default('trainer_state.json').describe('A checkpoint-<step> folder is complete once this file exists.'),
      save_total_limit: z.number().int().min(1).optional(),
    })
    .strict()
}

export function trainConfigSchema(z: PluginApi['z'], tc: PluginApi['trainerConfig']) {
  return z
    .object({
      ...tc.trainerModeShape,
      mode: modeSchema(z),
      external: externalSchema(z).optional(),
      model_name_or_path: z.string().default('builtin').describe('"builtin" (the compact VLM with a scalar head), or a model path / hub id for the external mode (external block).'),
      attn_implementation: z.string().optional(),
      min_pixels: z.number().int().min(1).optional().describe('Lower bound on image pixels; checked against builtin.model.vision.image_size².'),
      max_pixels: z.number().int().min(1).optional(),
      dataset_path: z
        .string()
        .default('generated')
        .describe(
          '"generated" (pairs rfm generates, see builtin.data), a JSONL file of {chosen, rejected, images} records (or a folder holding one and its images), or a datasets save_to_disk folder.',
        ),
      max_seq_length: z.number().int().min(4).default(16).describe("Text tokens per sequence (query + response), the model's context length."),
      max_train_samples: z.number().int().min(1).nullable().default(null),
      use_irrelevant_queries: z.boolean().default(false),
      num_irrelevant_pairs: z.number().int().min(1).default(1),
      irrelevant_loss_weight: z.number().min(0).default(1),
      freeze_vit: z.boolean().default(false),
      num_train_epochs: z.number().int().min(1).default(1),
      max_steps: tc.maxStepsSchema(),
      per_device_train_batch_size: z.number().int().min(1).default(16),
      gradient_accumulation_steps: z.number().int().min(1).default(1),
      learning_rate: z.number().positive().default(1e-3),
      warmup_steps: z.number().int().min(0).default(0),
      margin: z.number().default(0).describe('Bradley-Terry margin: loss = -log σ(r_chosen - r_rejected - margin).'),
      center_rewards_coefficient: z.number().min(0).nullable().default(null),
      gradient_checkpointing: z.boolean().optional(),
      disable_dropout: z.boolean().default(true),
      deepspeed: z.string().nullable().optional(),
      bf16: z.boolean().optional(),
      save_steps: z.number().int().min(0).default(0),
      logging_steps: z.number().int().min(1).default(1),
      eval_steps: z.number().int().min(0).default(0),
      output_dir: z.string().optional().describe('`rfm rm-eval train`: where checkpoint-<step> folders are written.'),
      builtin: z
        .object({
          ...tc.builtinTrainerShape(['seed', 'weight_decay', 'max_grad_norm', 'tensorboard']),
          // max_steps is top level in every kind (issue 22)
          max_steps: tc.movedMaxSteps(),
          scheduler: z.enum(['constant', 'cosine']).default('cosine'),
          lm_loss_weight: z.number().min(0).default(1).describe('Weight of a next-token loss on the chosen responses (an LM head trained beside the reward head); 0 = reward head only.'),
          // the context length is max_seq_length's
          model: tc.builtinModelSchema({dropout: 0.1}).default({}),
          data: z
            .object({
              seed: z.number().int().default(7),
              train_size: z.number().int().min(1).default(4096),
              eval_size: z.number().int().min(1).default(256),
            })
            .strict()
            .default({}),
        })
        .strict()
        .default({}),
    })
    .strict()
}

export type TrainConfig = ReturnType<ReturnType<typeof trainConfigSchema>['parse']>

/** Semantic checks the schema cannot express; returns the notes to print (not-applicable keys). */
export function checkTrainConfig(api: Pick<PluginApi, 'configError'>, c: TrainConfig): string[] {
  if (c.model_name_or_path !== 'builtin')
    throw api.configError(
      'model_name_or_path',
      `"${c.model_name_or_path}" needs the external mode (the pipeline's train_rm.py), which runs as a job`,
      'Set trainer_mode: external (with an external: {workdir} block) and launch it with rfm cloud launch rm-eval -c CONFIG, or use model_name_or_path: builtin here.',
    )
  const pixels = c.builtin.model.image_size ** 2
  // generated images are drawn at the model's size; records are fitted to min/max_pixels first
  const generated = c.dataset_path === 'generated'
  if (generated && c.min_pixels !== undefined && pixels < c.min_pixels)
    throw api.configError('min_pixels', `the built-in model sees ${pixels} pixels per image (builtin.model.image_size²), fewer than ${c.min_pixels}`)
  if (generated && c.max_pixels !== undefined && pixels > c.max_pixels)
    throw api.configError('max_pixels', `the built-in model sees ${pixels} pixels per image (builtin.model.image_size²), more than ${c.max_pixels}`)
  return NOT_APPLICABLE.filter((k) => c[k] !== undefined && c[k] !== null).map((k) => `${k}: not applicable to the built-in trainer (ignored)`)
}
