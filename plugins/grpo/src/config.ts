/**
 * Config keys of the grpo kind: the pipeline's own (grpo_rec.py / TRL GRPOConfig names, so one
 * config serves the built-in trainer and the external mode), plus `builtin` for what only the
 * built-in trainer has (model size, seed, generated data) and `external` for how the script runs when
 * `trainer_mode: external` (rfm's one switch) selects it.
 */
import type {PluginApi} from '@rfm/plugin-api'

import {llmGraderSchema, reasoningEmbeddingsSchema} from './rewards/services'

export const REWARD_FUNCS = ['format', 'accuracy', 'reasoning', 'spatial', 'counting', 'combined'] as const

/** Keys the pipeline accepts that mean nothing to the built-in trainer: accepted, and reported as such. */
export const NOT_APPLICABLE = ['bf16', 'fp16', 'deepspeed', 'gradient_checkpointing', 'report_to', 'logging_dir', 'use_vllm'] as const

/** `--x` / `--no-x` / lists on `rfm cloud launch grpo` (CORE-API §2). */
export const LAUNCH_FLAGS = {
  'reward-funcs': {path: 'reward_funcs', type: 'list', options: [...REWARD_FUNCS], description: 'Reward functions, e.g. --reward-funcs format accuracy reasoning.'},
  'sft-checkpoint': {path: 'sft_checkpoint', type: 'string', description: "Start from this run's checkpoint: RUN, RUN@<step>, RUN@best|final|latest."},
  'skip-invalid': {path: 'skip_invalid', type: 'boolean', description: 'Skip (and count) dataset rows with missing fields, empty answers or undecodable images instead of failing.'},
  'debug-log': {path: 'debug_log', type: 'string', description: 'Folder for one debug file per reward function (prompt, completion, reward, why).'},
  'loss-type': {path: 'loss_type', type: 'string', options: ['grpo', 'bnpo', 'dr_grpo'], description: 'Loss normalisation: grpo | bnpo | dr_grpo.'},
  'scale-rewards': {path: 'scale_rewards', type: 'string', options: ['group', 'batch', 'none'], description: 'Advantage scaling: group | batch | none.'},
  stage: {path: 'builtin.stage', type: 'string', options: ['grpo', 'warmup'], description: 'grpo (default) or warmup: a supervised stand-in SFT run whose checkpoint --sft-checkpoint takes.'},
  'use-peft': {path: 'use_peft', type: 'boolean', description: 'Train LoRA adapters (lora_r, lora_alpha, lora_dropout, target_modules).'},
  external: {path: 'trainer_mode', type: 'boolean', description: "Run the pipeline's own grpo_rec.py instead of the built-in trainer (config key trainer_mode: external)."},
  'max-samples': {path: 'max_samples', type: 'number', description: "Quick validation: at most N prompts (external: the script's --max_samples N)."},
} as const

export function grpoConfigSchema(z: PluginApi['z'], tc: PluginApi['trainerConfig']) {
  // no coercion: "" is not 0, [60] is not 60 and "false" is not true (a typed config error instead)
  const num = z.number()
  return z
    .object({
      ...tc.trainerModeShape,
      model_name_or_path: z.string().default('builtin').describe('"builtin": the compact VLM (or the --sft-checkpoint run\'s model); a Hugging Face model needs external mode.'),
      sft_checkpoint: z.string().min(1).nullable().default(null).describe("Start from another run's checkpoint: RUN[@step|best|final|latest]; with external mode a local path."),
      dataset_name: z
        .string()
        .nullable()
        .default('generated')
        .describe(
          'A Hugging Face save_to_disk folder (Dataset or DatasetDict), a .jsonl file or a folder holding <split>.jsonl (+ images), or "generated" (spatial/counting VQA rfm draws; recorded as null).',
        ),
      dataset_split: z.string().default('train').describe('Split of a DatasetDict.'),
      eval_split: z.string().nullable().default(null).describe('Split (or .jsonl file) of held-out prompts for eval_reward; generated data holds its own.'),
      use_huggingface_dataset: z.boolean().default(true),
      task_type: z.literal('vqa').default('vqa'),
      image_root: z.string().nullable().default(null).describe("Folder relative image paths of a .jsonl dataset are read from (default: the file's folder)."),
      skip_invalid: z.boolean().default(false),
      min_pixels: num.int().min(1).default(3136),
      max_pixels: num.int().min(1).default(12845056),
      reward_funcs: z.array(z.enum(REWARD_FUNCS)).min(1).default(['format', 'accuracy']),
      reward_weights: z.array(num).nullable().default(null).describe('One weight per reward function (default all 1); the reward is their weighted sum.'),
      reasoning_threshold: num.min(0).max(1).default(0.5).describe("τ of the reasoning reward's Match F1 (character-trigram cosine)."),
      llm_grader: llmGraderSchema(z),
      reasoning_embeddings: reasoningEmbeddingsSchema(z),
      debug_log: z.string().nullable().default(null),
      num_generations: num.int().min(2).default(4),
      temperature: num.min(0).default(1),
      top_p: num.gt(0).max(1).default(1),
      max_completion_length: num.int().min(1).default(64),
      beta: num.min(0).default(0.04).describe('KL coefficient (k3 estimator against the frozen start model); 0 = no reference model.'),
      epsilon: num.min(0).default(0.2),
      epsilon_high: num.min(0).nullable().default(null),
      num_iterations: num.int().min(1).default(1).describe('Optimizer steps per generation batch (μ); > 1 makes the clipped ratio matter.'),
      scale_rewards: z.enum(['group', 'batch', 'none']).default('group'),
      loss_type: z.enum(['grpo', 'bnpo', 'dr_grpo']).default('grpo'),
      mask_truncated_completions: z.boolean().default(false),
      use_peft: z.boolean().default(false),
      lora_r: num.int().min(1).default(16),
      lora_alpha: num.positive().default(32),
      lora_dropout: num.min(0).max(1).default(0.05),
      target_modules: z.array(z.string()).default(['q_proj', 'k_proj', 'v_proj', 'o_proj']),
      num_train_epochs: num.positive().default(1).describe('Built-in trainer: whole epochs; external mode: any number (0.5).'),
      max_steps: tc.maxStepsSchema(),
      per_device_train_batch_size: num.int().min(1).default(8).describe('Completions per micro-batch; × gradient_accumulation_steps must be a multiple of num_generations.'),
      gradient_accumulation_steps: num.int().min(1).default(1),
      learning_rate: num.positive().default(1e-5),
      lr_scheduler_type: z.string().min(1).default('constant').describe("Built-in trainer: constant or cosine; external mode: any of TRL's (linear, cosine_with_min_lr, ...)."),
      warmup_steps: num.int().min(0).default(0),
      weight_decay: num.min(0).default(0),
      max_grad_norm: num.min(0).default(1),
      logging_steps: num.int().min(1).default(1),
      save_steps: num.int().min(0).default(500),
      save_total_limit: num.int().min(1).nullable().default(null),
      eval_steps: num.int().min(0).default(0),
      seed: num.int().default(42),
      output_dir: z.string().default('./output/grpo').describe('External mode: where grpo_rec.py writes checkpoint-<step>/ (synced to the store).'),
      bf16: z.boolean().optional(),
      fp16: z.boolean().optional(),
      deepspeed: z.string().nullable().optional(),
      gradient_checkpointing: z.boolean().optional(),
      report_to: z.union([z.string(), z.array(z.string())]).optional(),
      logging_dir: z.string().optional(),
      use_vllm: z.boolean().optional(),
      model: z.record(z.unknown()).optional().describe("Seed 003's model block: {name, use_lora, use_4bit, lora: {r, alpha, dropout}} (mapped onto model_name_or_path, use_peft, lora_*)."),
      training: z.record(z.unknown()).optional().describe("Seed 003's training block: {num_epochs, batch_size, gradient_accumulation_steps, learning_rate, gradient_checkpointing}."),
      hardware: z.record(z.unknown()).optional().describe("Seed 003's hardware block: {bf16, use_vllm, vllm_gpu_memory_utilization}."),
      max_samples: num.int().min(1).optional().describe('Quick validation run: external mode passes --max_samples N to the script; the built-in trainer uses at most N prompts.'),
      outputs: z
        .array(
          z
            .string()
            .min(1)
            .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'a path relative to the workdir, inside it'),
        )
        .optional()
        .describe(
          "External mode: files or folders (relative to external.workdir) uploaded to the run's store at the end of every attempt; default output_dir, logging_dir and debug_log. rfm cloud outputs RUN pulls them.",
        ),
      builtin: z
        .object({
          stage: z
            .enum(['grpo', 'warmup'])
            .default('grpo')
            .describe('warmup: a supervised run on the reference completions (max_steps, learning_rate, batch keys) that writes a checkpoint --sft-checkpoint accepts — a stand-in SFT stage.'),
          ...tc.builtinTrainerShape(['tensorboard']),
          model: tc.builtinModelSchema({context_length: 96}).default({}).describe('The compact VLM when there is no --sft-checkpoint (a checkpoint brings its own).'),
          data: z
            .object({
              seed: num.int().default(7),
              train_size: num.int().min(1).default(1024),
              eval_size: num.int().min(0).default(64),
              tasks: z
                .array(z.enum(['relation', 'count', 'color', 'multiple_choice']))
                .min(1)
                .default(['relation', 'count']),
              max_reference_steps: num.int().min(0).nullable().default(null).describe('Keep only the last N reference steps (shorter completions).'),
            })
            .strict()
            .default({})
            .describe('dataset_name: generated — spatial/counting VQA drawn by rfm.'),
          eval_size: num.int().min(0).default(64).describe('Held-out prompts scored (eval_reward) at eval_steps, at step 0 and at the end.'),
          eval_generations: num.int().min(1).default(2).describe('Completions per held-out prompt, sampled like training (temperature, top_p) with the same seeded draws at every evaluation.'),
        })
        .strict()
        .default({}),
      external: z
        .object({
          // the switch is the top-level trainer_mode, as in every kind (issue 22); false, the old default every recorded run holds, still parses
          enabled: tc.movedKey('trainer_mode', 'trainer_mode: external at the top level of the config (or --external)', (value) => value === false),
          script: z.string().default('src/open-r1-multimodal/src/open_r1/grpo_rec.py'),
          workdir: z.string().default('.').describe("The pipeline's checkout, relative to the config file."),
          python: z.string().default('python'),
          launcher: z.array(z.string()).default([]).describe('e.g. [accelerate, launch, --num_processes, "4"]; empty = python SCRIPT.'),
          extra_args: z.array(z.string()).default([]),
          env: z.record(z.string()).default({}),
          params_b: num.positive().nullable().default(null).describe('Model size in billions for `rfm cloud plan` (default: read from model_name_or_path, e.g. "7B").'),
          vision_params_b: num.min(0).default(0.675),
          samples: num.int().positive().default(10000).describe('Prompts per epoch, for the runtime estimate.'),
          seq_len: num.int().positive().default(512).describe('Prompt + completion tokens, for the memory estimate.'),
        })
        .strict()
        .default({}),
    })
    .strict()
}

export type GrpoConfig = ReturnType<ReturnType<typeof grpoConfigSchema>['parse']>

/** trainer_mode: external (the one switch of every two-trainer kind) runs grpo_rec.py. */
export function isExternal(c: {trainer_mode?: string}): boolean {
  return c.trainer_mode === 'external'
}

/** Semantic checks the schema cannot express; returns notes to print (not-applicable keys). */
export function checkGrpoConfig(api: Pick<PluginApi, 'configError'>, c: GrpoConfig): string[] {
  if (c.min_pixels > c.max_pixels) throw api.configError('min_pixels', `min_pixels ${c.min_pixels} > max_pixels ${c.max_pixels}`)
  // the checks below are the built-in trainer's; the pipeline's script checks its own config
  if (isExternal(c)) return []
  if (c.lr_scheduler_type !== 'constant' && c.lr_scheduler_type !== 'cosine')
    throw api.configError(
      'lr_scheduler_type',
      `the built-in trainer has constant and cosine schedules, not "${c.lr_scheduler_type}"`,
      "Other schedules are for the pipeline's own script (trainer_mode: external).",
    )
  if (!Number.isInteger(c.num_train_epochs)) throw api.configError('num_train_epochs', `the built-in trainer trains whole epochs, not ${c.num_train_epochs}`, 'Use max_steps for a partial epoch.')
  const perStep = c.per_device_train_batch_size * c.gradient_accumulation_steps
  if (perStep % c.num_generations !== 0)
    throw api.configError(
      'per_device_train_batch_size',
      `per_device_train_batch_size × gradient_accumulation_steps (${perStep}) is not a multiple of num_generations (${c.num_generations})`,
      'Each prompt gets num_generations completions; a step holds whole groups.',
    )
  if (c.reward_weights && c.reward_weights.length !== c.reward_funcs.length)
    throw api.configError('reward_weights', `${c.reward_weights.length} weights for ${c.reward_funcs.length} reward_funcs (${c.reward_funcs.join(', ')})`)
  if (c.model_name_or_path !== 'builtin')
    throw api.configError(
      'model_name_or_path',
      `"${c.model_name_or_path}" can only be trained by the pipeline's own script`,
      'Set trainer_mode: external (or --external), or use model_name_or_path: builtin with --sft-checkpoint RUN.',
    )
  const m = c.builtin.model
  if (!c.sft_checkpoint && m.image_size % m.patch_size !== 0) throw api.configError('builtin.model.image_size', `${m.image_size} is not a multiple of patch_size ${m.patch_size}`)
  return NOT_APPLICABLE.filter((k) => c[k] !== undefined && c[k] !== null).map((k) => `${k}: not applicable to the built-in trainer (ignored)`)
}

/**
 * Seed 003's nested blocks → the flat keys they stand for (only those given). model.name names a
 * Hugging Face model: it maps to model_name_or_path in external mode only (the built-in trainer
 * trains its compact VLM or the --sft-checkpoint run's).
 */
export function flatFromSeedBlocks(
  api: Pick<PluginApi, 'external'>,
  c: {model?: Record<string, unknown>; training?: Record<string, unknown>; hardware?: Record<string, unknown>; trainer_mode?: unknown},
): Record<string, unknown> {
  const m = c.model ?? {}
  const lora = (m.lora ?? {}) as Record<string, unknown>
  const out: Record<string, unknown> = {
    model_name_or_path: c.trainer_mode === 'external' || c.trainer_mode === true ? m.name : undefined,
    use_peft: m.use_lora,
    lora_r: lora.r,
    lora_alpha: lora.alpha,
    lora_dropout: lora.dropout,
    ...api.external.hfKeysFromSeedBlocks(c),
    use_vllm: c.hardware?.use_vllm,
  }
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined))
}

/** LoRA target names of the pipeline (q_proj, ...) → the compact model's module names (q, ...). */
export function builtinTargetModules(targets: string[]): string[] {
  const map: Record<string, string> = {q_proj: 'q', k_proj: 'k', v_proj: 'v', o_proj: 'o', up_proj: 'fc1', down_proj: 'fc2', gate_proj: 'fc1'}
  return [...new Set(targets.map((t) => map[t] ?? t))]
}
