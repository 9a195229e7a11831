/**
 * Config keys of the sft kind: the pipeline's own flags (seed 000's train_vqa_sft.py, seed 003's
 * SFT/DPO stages), snake_case as the scripts spell them, so one config serves the built-in trainer
 * and the external mode. What only the built-in trainer has lives under `builtin`; the generated
 * spatial-reasoning data under `spatial`; `trainer_mode: external` (rfm's one switch) runs the pipeline
 * script that `trainer.external` describes.
 */
import type {PluginApi} from '@rfm/plugin-api'

import {seedBlockSchemas} from './seed-config'

type Z = PluginApi['z']
type TrainerConfig = PluginApi['trainerConfig']

/** Keys the pipeline accepts that mean nothing to the built-in trainer: accepted and reported as such. */
export const NOT_APPLICABLE = ['use_unsloth', 'quantization', 'gradient_checkpointing', 'bf16', 'wandb_project', 'wandb_entity'] as const

export const SPATIAL_TASKS = ['relation', 'count', 'color', 'multiple_choice'] as const

export function sftConfigSchema(z: Z, tc: TrainerConfig) {
  const resume = z.union([z.boolean(), z.number().int().min(0), z.string().min(1)]).transform((v) => (v === 'True' || v === 'true' ? true : v === 'False' || v === 'false' ? false : v))
  return z
    .object({
      ...tc.trainerModeShape,
      stage: z.enum(['sft', 'dpo']).default('sft').describe('sft (supervised, loss on answer tokens) or dpo (sigmoid DPO from an SFT checkpoint).'),
      sft_checkpoint: z.string().min(1).optional().describe('DPO: the SFT model, RUN[@step|best|final|latest] (built-in) or a checkpoint folder (external mode).'),
      beta: z.number().positive().default(0.1).describe('DPO: strength β of the implicit KL penalty.'),
      rpo_alpha: z.number().min(0).default(0).describe("DPO: weight of a negative log-likelihood term on the chosen answers (TRL's rpo_alpha); keeps them likely, so greedy answers stay well-formed."),
      dataset_path: z.string().min(1).nullable().default(null).describe('Training VQA dataset (Hugging Face save_to_disk folder from rfm sft dataset generate); staged at launch.'),
      eval_dataset_path: z.string().min(1).nullable().default(null).describe('Held-out VQA dataset (same format); staged at launch.'),
      spatial: z
        .object({
          train_size: z.number().int().min(0).default(0).describe('Generated spatial-VQA samples to train on (0 = none).'),
          eval_size: z.number().int().min(0).default(256).describe('Held-out generated samples (indices after the training ones).'),
          seed: z.number().int().default(7),
          tasks: z
            .array(z.enum(SPATIAL_TASKS))
            .min(1)
            .default([...SPATIAL_TASKS]),
          max_objects: z.number().int().min(2).max(4).default(4).describe('Shapes per scene: 2 to max_objects (fewer make relations easier to learn).'),
        })
        .strict()
        .default({})
        .describe('Spatial-reasoning VQA generated from drawn scenes (left/right/above/below, counts, colours, multiple choice).'),
      model_name: z
        .string()
        .min(1)
        .default('Qwen/Qwen3-VL-4B-Instruct')
        .describe('Model of the external mode and of the resource estimate; the built-in trainer trains its compact VLM (builtin.model).'),
      output_dir: z.string().min(1).default('./outputs/vqa_training').describe('External mode: where the script writes checkpoint-<step>/ folders (relative to trainer.external.workdir).'),
      run_name: z.string().min(1).optional(),
      freeze_vision_tower: z.boolean().default(false),
      lora_rank: z.number().int().min(0).default(0).describe('LoRA rank; 0 = full fine-tuning.'),
      lora_alpha: z.number().positive().default(16),
      learning_rate: z.number().positive().default(2e-5),
      lr_scheduler_type: z.string().min(1).default('cosine').describe("Built-in trainer: cosine or constant; external mode: any of the script's (linear, cosine_with_restarts, ...)."),
      warmup_ratio: z.number().min(0).max(1).default(0.1),
      per_device_train_batch_size: z.number().int().min(1).default(4),
      per_device_eval_batch_size: z.number().int().min(1).default(8),
      gradient_accumulation_steps: z.number().int().min(1).default(2),
      num_train_epochs: z.number().positive().default(1).describe('Built-in trainer: whole epochs; external mode: any number the script takes (0.5).'),
      max_steps: tc.maxStepsSchema(),
      max_frames: z.number().int().min(1).default(32).describe('Frames per trajectory the model sees (evenly subsampled).'),
      save_strategy: z.enum(['steps', 'epoch', 'no']).default('steps'),
      save_steps: z.number().int().min(1).default(500),
      eval_strategy: z.enum(['steps', 'epoch', 'no']).default('no'),
      eval_steps: z.number().int().min(1).default(500),
      logging_steps: z.number().int().min(1).default(10),
      save_total_limit: z.number().int().min(1).optional(),
      resume_from_checkpoint: resume.optional().describe('True = the newest checkpoint; or RUN[@step], a step of this run, or a checkpoint folder.'),
      report_to: z.union([z.enum(['tensorboard', 'wandb', 'none']), z.array(z.enum(['tensorboard', 'wandb']))]).default('tensorboard'),
      wandb_project: z.string().optional(),
      wandb_entity: z.string().optional(),
      use_unsloth: z.boolean().optional(),
      quantization: z.boolean().optional(),
      gradient_checkpointing: z.boolean().optional(),
      bf16: z.boolean().optional(),
      seed: z.number().int().default(42),
      max_samples: z
        .number()
        .int()
        .min(1)
        .optional()
        .describe('Quick validation run: external mode passes --max_samples N to the script; the built-in trainer trains and evaluates on at most N samples.'),
      ...seedBlockSchemas(z),
      dataset_size: z.number().int().min(1).optional().describe('Training samples per epoch, for the estimate when the dataset is not local (default: read from the dataset, else 43000).'),
      outputs: z
        .array(
          z
            .string()
            .min(1)
            .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'a path relative to the workdir, inside it'),
        )
        .optional()
        .describe(
          "External mode: files or folders (relative to the workdir) uploaded to the run's store at the end of every attempt; default [output_dir] (the final model at its root, its TensorBoard runs/; checkpoint-N/ folders are stored apart). rfm cloud outputs RUN pulls them.",
        ),
      trainer: z
        .object({
          external: z
            .object({
              command: z.array(z.string()).min(1).describe("The pipeline script, e.g. [python, scripts/train_vqa_sft.py]; the config's keys are appended as its flags."),
              workdir: z.string().default('.').describe('Working directory, relative to the config file.'),
              env: z.record(z.string()).default({}),
              pass_config: z.boolean().default(true).describe("Append the config's keys as the script's flags (--dataset_path ..., --learning_rate ...)."),
              config_arg: z
                .string()
                .min(1)
                .optional()
                .describe(
                  'A config-file script (seed 003\'s train_sft.py --config F): rfm writes the keys you set, as you wrote them (model/training/hardware blocks included), to a YAML file and passes "<config_arg> FILE" instead of flags.',
                ),
            })
            .strict()
            .optional(),
        })
        .strict()
        .default({}),
      builtin: z
        .object({
          ...tc.builtinTrainerShape(['weight_decay', 'max_grad_norm']),
          max_train_samples: z.number().int().min(1).optional(),
          max_eval_samples: z.number().int().min(1).optional(),
          max_new_tokens: z.number().int().min(1).default(8).describe('Greedy decoding length of the eval answers.'),
          model: tc
            .builtinModelSchema({context_length: 48})
            .extend({
              prompt_film: z.boolean().default(true).describe('Modulate the image tokens by the prompt (FiLM), so questions about named objects can bind them to image regions.'),
              linear_init: z
                .enum(['fan_in', 'gpt2'])
                .default('fan_in')
                .describe("How a fresh model's linear weights start: N(0, 1/fan_in), or GPT-2's N(0, 0.02), with which this small model learns region-dependent answers far more slowly."),
            })
            .default({}),
        })
        .strict()
        .default({}),
    })
    .strict()
}

export type SftConfig = ReturnType<ReturnType<typeof sftConfigSchema>['parse']>

/** trainer_mode: external (the one switch of every two-trainer kind) runs the script trainer.external describes. */
export function isExternal(c: Pick<SftConfig, 'trainer_mode'>): boolean {
  return c.trainer_mode === 'external'
}

/** The switch and the external settings agree (launch check; exit 2 with a hint otherwise). */
export function checkTrainerMode(api: Pick<PluginApi, 'configError'>, c: SftConfig): void {
  if (!isExternal(c) && c.trainer.external)
    throw api.configError(
      'trainer.external',
      "the pipeline script's settings are given, but trainer_mode is builtin",
      'One switch for every kind: add trainer_mode: external (or --set trainer_mode=external) to run the script; trainer.external only says how.',
    )
  if (isExternal(c) && !c.trainer.external)
    throw api.configError('trainer.external', "trainer_mode external runs the pipeline's script: say which", 'e.g. trainer: {external: {command: [python, scripts/train_vqa_sft.py], workdir: .}}')
}

export function reportTargets(c: SftConfig): string[] {
  return c.report_to === 'none' ? [] : Array.isArray(c.report_to) ? c.report_to : [c.report_to]
}

/** Semantic checks for the built-in trainer; returns notes to print (keys accepted but not applicable). */
export function checkBuiltin(api: Pick<PluginApi, 'configError'>, c: SftConfig): string[] {
  if (c.dataset_path === null && c.spatial.train_size === 0 && c.stage === 'sft')
    throw api.configError(
      'dataset_path',
      'no training data: give dataset_path or spatial.train_size',
      'Generate a dataset with rfm sft dataset generate, or train on spatial scenes: spatial: {train_size: 2048}.',
    )
  if (c.dataset_path === null && c.spatial.train_size === 0)
    throw api.configError(
      'dataset_path',
      'DPO needs preference pairs: give dataset_path or spatial.train_size',
      'Pairs come from the VQA data (right vs wrong answer) or from the spatial scenes (answer vs wrong answers).',
    )
  if (c.stage === 'dpo' && !c.sft_checkpoint && !c.resume_from_checkpoint)
    throw api.configError('sft_checkpoint', 'the DPO stage starts from an SFT model', 'Give --sft-checkpoint RUN[@step] (an sft run of this store).')
  if (c.lr_scheduler_type !== 'cosine' && c.lr_scheduler_type !== 'constant')
    throw api.configError(
      'lr_scheduler_type',
      `the built-in trainer has cosine and constant schedules, not "${c.lr_scheduler_type}"`,
      "Other schedules are for the pipeline's own script (trainer.external).",
    )
  if (!Number.isInteger(c.num_train_epochs)) throw api.configError('num_train_epochs', `the built-in trainer trains whole epochs, not ${c.num_train_epochs}`, 'Use max_steps for a partial epoch.')
  const m = c.builtin.model
  if (m.image_size % m.patch_size) throw api.configError('builtin.model.patch_size', `image_size ${m.image_size} is not divisible by patch_size ${m.patch_size}`)
  const notes = NOT_APPLICABLE.filter((k) => c[k] !== undefined && c[k] !== false).map((k) => `${k}: not applicable to the built-in trainer (ignored)`)
  if (reportTargets(c).includes('wandb')) notes.push('report_to wandb: unavailable offline in the built-in trainer; metrics go to metrics.jsonl and TensorBoard')
  return notes
}
