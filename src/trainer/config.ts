/**
 * The built-in trainer's config keys (snake_case, like Hugging Face's TrainingArguments), as a zod
 * schema a plugin can embed, and their typed, camelCase resolution.
 */
import {z} from 'zod'

import {LoraConfig} from './lora'
import {ModelConfig} from './nn/vlm'
import {ScheduleConfig} from './schedule'

/** `trainer.workers`: a count, or `auto` (os.availableParallelism()). */
export const workersSchema = z.union([z.literal('auto'), z.number().int().min(1).max(256)]).default(1)

export const trainerSchema = z.object({
  backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  /**
   * Data parallel over worker threads, each with its own backend: each batch is split over them and
   * their gradients averaged in a fixed order. `auto` = the cores this process may use. 1 = today's
   * single-threaded loop, bitwise. Needs a task the trainer can rebuild in a worker (a replica recipe).
   */
  workers: workersSchema,
  /**
   * attention's products: per-head rank-2 products (XNNPACK on wasm; see wasm-head-matmul.ts) or
   * batched matmuls (the numerics before per_head). Absent = per_head for a new run on wasm, batched
   * on other backends; a resumed run keeps the mode its checkpoint records, batched for a checkpoint
   * that records none (written before per_head became the default), so it resumes bitwise (loop.ts).
   */
  attention: z.enum(['batched', 'per_head']).optional(),
  seed: z.number().int().default(42),
  max_steps: z.number().int().min(0).default(0),
  epochs: z.number().int().min(1).default(1),
  batch_size: z.number().int().min(1).default(8),
  grad_accum: z.number().int().min(1).default(1),
  lr: z.number().positive().default(1e-3),
  weight_decay: z.number().min(0).default(0.01),
  beta1: z.number().default(0.9),
  beta2: z.number().default(0.999),
  eps: z.number().default(1e-8),
  max_grad_norm: z.number().min(0).default(1),
  param_groups: z.array(z.object({name: z.string(), patterns: z.array(z.string()), lr: z.number().positive()})).default([]),
  freeze: z.array(z.string()).default([]),
  freeze_vision_tower: z.boolean().default(false),
  lora: z
    .object({
      rank: z.number().int().min(0).default(0),
      alpha: z.number().positive().default(16),
      dropout: z.number().min(0).max(1).default(0),
      target_modules: z.array(z.string()).default(['q', 'k', 'v', 'o']),
      modules_to_save: z.array(z.string()).default([]),
    })
    .default({}),
  scheduler: z
    .object({
      kind: z.enum(['constant', 'cosine', 'warmup_hold_cosine']).default('cosine'),
      warmup_ratio: z.number().min(0).max(1).default(0),
      warmup_steps: z.number().int().min(0).default(0),
      hold_ratio: z.number().min(0).max(1).default(0),
      min_lr: z.number().min(0).default(0),
      per: z.enum(['step', 'epoch']).default('step'),
      rewarm_steps: z.number().int().min(0).default(0),
    })
    .default({}),
  logging_steps: z.number().int().min(1).default(1),
  eval_steps: z.number().int().min(0).default(0),
  save_steps: z.number().int().min(0).default(0),
  /** write TensorBoard event files under <workDir>/tensorboard */
  tensorboard: z.boolean().default(true),
})

export const modelSchema = z.object({
  width: z.number().int().min(8).default(64),
  depth: z.number().int().min(1).default(2),
  heads: z.number().int().min(1).default(4),
  mlp_ratio: z.number().int().min(1).default(4),
  context_length: z.number().int().min(4).default(16),
  dropout: z.number().min(0).max(1).default(0),
  vision: z
    .object({
      image_size: z.number().int().min(4).default(16),
      patch_size: z.number().int().min(1).default(4),
      width: z.number().int().min(8).default(64),
      depth: z.number().int().min(1).default(1),
      heads: z.number().int().min(1).default(4),
    })
    .nullable()
    .default({}),
})

export const tokenizerSchema = z.object({
  kind: z.enum(['word', 'bpe']).default('word'),
  vocab_size: z.number().int().min(8).default(512),
})

export const taskSchema = z.object({
  kind: z.literal('shapes-vqa').default('shapes-vqa'),
  train_size: z.number().int().min(1).default(2048),
  eval_size: z.number().int().min(1).default(256),
  seed: z.number().int().default(7),
})

export const builtinTrainingSchema = z.object({
  /** the vlm kind's top-level max_steps (issue 22: one address for every kind); over trainer.max_steps when > 0 */
  max_steps: z.number().int().min(-1).optional(),
  trainer: trainerSchema.default({}),
  model: modelSchema.default({}),
  tokenizer: tokenizerSchema.default({}),
  task: taskSchema.default({}),
})

export type TrainerConfigInput = z.input<typeof builtinTrainingSchema>
export type TrainerKeys = z.output<typeof trainerSchema>

export function loraConfig(t: TrainerKeys): LoraConfig | undefined {
  if (t.lora.rank <= 0) return undefined
  return {rank: t.lora.rank, alpha: t.lora.alpha, dropout: t.lora.dropout, targetModules: t.lora.target_modules, modulesToSave: t.lora.modules_to_save}
}

export function scheduleConfig(t: TrainerKeys): ScheduleConfig {
  const s = t.scheduler
  return {
    kind: s.kind,
    warmupRatio: s.warmup_ratio,
    warmupSteps: s.warmup_steps,
    holdRatio: s.hold_ratio,
    minLrRatio: Math.min(1, s.min_lr / t.lr),
    per: s.per,
    rewarmSteps: s.rewarm_steps,
  }
}

export function modelConfig(m: z.output<typeof modelSchema>, vocabSize: number, outputs: ModelConfig['outputs']): ModelConfig {
  return {
    vocabSize,
    width: m.width,
    depth: m.depth,
    heads: m.heads,
    mlpRatio: m.mlp_ratio,
    contextLength: m.context_length,
    dropout: m.dropout,
    vision: m.vision ? {imageSize: m.vision.image_size, channels: 3, patchSize: m.vision.patch_size, width: m.vision.width, depth: m.vision.depth, heads: m.vision.heads} : undefined,
    outputs,
  }
}

/** The flat `builtin.model` keys the plugins' configs share (sft, grpo, rm-eval). */
export interface BuiltinModelKeys {
  width: number
  depth: number
  heads: number
  /** rm-eval sets the length from its own max_seq_length instead (extra.contextLength) */
  context_length?: number
  dropout: number
  image_size: number
  patch_size: number
  vision_width: number
  vision_depth: number
}

/** The compact VLM of a plugin's `builtin.model` (RGB images, MLP ratio 4); `extra` sets what differs per plugin. */
export function builtinModelConfig(
  m: BuiltinModelKeys,
  vocabSize: number,
  outputs: ModelConfig['outputs'],
  extra: {contextLength?: number; dropout?: number; frames?: number; promptFilm?: boolean; linearInit?: ModelConfig['linearInit']} = {},
): ModelConfig {
  const contextLength = extra.contextLength ?? m.context_length
  if (contextLength === undefined) throw new Error('builtinModelConfig: no context length (builtin.model.context_length or extra.contextLength)')
  const config: ModelConfig = {
    vocabSize,
    width: m.width,
    depth: m.depth,
    heads: m.heads,
    mlpRatio: 4,
    contextLength,
    dropout: extra.dropout ?? m.dropout,
    vision: {imageSize: m.image_size, channels: 3, patchSize: m.patch_size, width: m.vision_width, depth: m.vision_depth, heads: m.heads},
    outputs,
  }
  if (extra.frames !== undefined) config.vision!.frames = extra.frames
  if (extra.promptFilm !== undefined) config.vision!.promptFilm = extra.promptFilm
  if (extra.linearInit !== undefined) config.linearInit = extra.linearInit
  return config
}
