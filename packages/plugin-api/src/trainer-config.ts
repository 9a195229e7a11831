/**
 * The trainer-facing config keys the core owns (`api.trainerConfig`): zod fragments a kind that
 * trains with the built-in trainer composes into its schema, and the one Hugging Face
 * TrainingArguments → trainer-keys mapper. Built with the host's zod, so they are declared here as
 * zod types (the host's src/trainer/builtin-config.ts satisfies this; conformance.ts checks).
 */
import type {z} from 'zod'

import type {TrainerKeys} from './trainer'

export type BuiltinBackendSchema = z.ZodDefault<z.ZodEnum<['auto', 'tensorflow', 'wasm', 'cpu']>>
export type WorkersSchema = z.ZodDefault<z.ZodUnion<[z.ZodLiteral<'auto'>, z.ZodNumber]>>

/** The optional `builtin` keys a kind may ask for, and their schema types. */
export type BuiltinOptionalShape = {
  seed: z.ZodDefault<z.ZodNumber>
  weight_decay: z.ZodDefault<z.ZodNumber>
  max_grad_norm: z.ZodDefault<z.ZodNumber>
  tensorboard: z.ZodDefault<z.ZodBoolean>
}
export type BuiltinOptionalKey = keyof BuiltinOptionalShape
export interface BuiltinDefaults {
  seed: number
  weight_decay: number
  max_grad_norm: number
  tensorboard: boolean
}

/** The compact VLM's `builtin.model` keys. */
export type BuiltinModelShape = {
  width: z.ZodDefault<z.ZodNumber>
  depth: z.ZodDefault<z.ZodNumber>
  heads: z.ZodDefault<z.ZodNumber>
  dropout: z.ZodDefault<z.ZodNumber>
  image_size: z.ZodDefault<z.ZodNumber>
  patch_size: z.ZodDefault<z.ZodNumber>
  vision_width: z.ZodDefault<z.ZodNumber>
  vision_depth: z.ZodDefault<z.ZodNumber>
}

/** Hugging Face TrainingArguments names (and the `builtin` block's trainer keys) as a kind's config holds them. */
export interface HfTrainingArgs {
  seed?: number
  max_steps?: number
  num_train_epochs?: number
  per_device_train_batch_size?: number
  gradient_accumulation_steps?: number
  learning_rate?: number
  weight_decay?: number
  max_grad_norm?: number
  lr_scheduler_type?: string
  warmup_ratio?: number
  warmup_steps?: number
  logging_steps?: number
  save_strategy?: 'steps' | 'epoch' | 'no'
  save_steps?: number
  eval_strategy?: 'steps' | 'epoch' | 'no'
  eval_steps?: number
  backend?: TrainerKeys['backend']
  workers?: TrainerKeys['workers']
  tensorboard?: boolean
}

export type MovedKeySchema = z.ZodEffects<z.ZodUnknown, unknown, unknown>

export interface TrainerConfigKit {
  /** top-level `max_steps`: optimizer steps; 0 (or HF's -1) = no cap */
  maxStepsSchema(): z.ZodDefault<z.ZodNumber>
  /** the step cap a `max_steps` value means (0 = none) */
  stepCap(maxSteps: number | undefined): number
  /** a key that moved: any value (but those `accept` lets through) is a config error naming the new key */
  movedKey(to: string, example: string, accept?: (value: unknown) => boolean): MovedKeySchema
  /** `max_steps` at an old address (0, the old recorded default, still parses) */
  movedMaxSteps(): MovedKeySchema
  /** the `builtin` block's trainer keys: backend, workers, plus the optional keys named */
  builtinTrainerShape<K extends BuiltinOptionalKey = never>(
    keys?: readonly K[],
    defaults?: Partial<{[P in K]: BuiltinDefaults[P]}>,
  ): {backend: BuiltinBackendSchema; workers: WorkersSchema} & Pick<BuiltinOptionalShape, K>
  /** the compact VLM's strict `builtin.model` block; with context_length when a default is given */
  builtinModelSchema(defaults: {context_length: number; dropout?: number}): z.ZodObject<BuiltinModelShape & {context_length: z.ZodDefault<z.ZodNumber>}, 'strict'>
  builtinModelSchema(defaults?: {dropout?: number}): z.ZodObject<BuiltinModelShape, 'strict'>
  BUILTIN_DEFAULTS: BuiltinDefaults
  /** the trainer core's keys from HF-named ones; `extra` (core names) is applied last */
  fromHfTrainingArgs(args: HfTrainingArgs, options?: {stepsPerEpoch?: number; extra?: Record<string, unknown>}): TrainerKeys
  /** the one external-mode switch (`trainer_mode: builtin | external`): spread into a two-trainer kind's schema */
  trainerModeShape: {trainer_mode: z.ZodOptional<z.ZodEffects<z.ZodEnum<['builtin', 'external']>, 'builtin' | 'external', unknown>>}
  /** whether a config (validated or raw) trains with the external trainer */
  trainsExternally(config: {trainer_mode?: unknown}): boolean
}
