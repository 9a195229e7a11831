/**
 * The trainer-facing config keys the core owns for every kind that trains with the built-in trainer
 * (issue 22): the top-level `max_steps`, the `builtin` block's trainer keys, the compact VLM's
 * `builtin.model` keys, the error for a key that moved, and the one mapping from Hugging Face
 * TrainingArguments names to the trainer core's keys. Plugins compose these (through
 * `api.trainerConfig`) instead of writing their own copies, so defaults and checks cannot drift.
 * Loads nothing but zod: it runs when a kind's schema is built, at CLI start-up.
 */
import {z} from 'zod'

import {TrainerKeys, trainerSchema, workersSchema} from './config'

/**
 * `max_steps`, top level in every training kind (like Hugging Face's TrainingArguments): optimizer
 * steps to train; 0 (or HF's -1) = no cap, the epochs decide.
 */
export function maxStepsSchema() {
  return z.number().int().min(-1).default(0).describe('Optimizer steps to train; 0 (or -1, as in Hugging Face) = no cap, the epochs decide. External mode passes it to the script when set.')
}

/** The number of optimizer steps a `max_steps` value caps training at (0 = none). */
export function stepCap(maxSteps: number | undefined): number {
  return maxSteps !== undefined && maxSteps > 0 ? maxSteps : 0
}

/**
 * A key that moved: any value is a config error (exit 2) naming the new key; the description
 * becomes the error's hint. `accept` lets through values that still mean something here.
 */
export function movedKey(to: string, example: string, accept: (value: unknown) => boolean = () => false) {
  return z
    .unknown()
    .superRefine((value, ctx) => {
      if (value !== undefined && !accept(value)) ctx.addIssue({code: z.ZodIssueCode.custom, message: `nothing here (${to} is a top-level key now)`})
    })
    .describe(`One address for every kind: ${example}.`)
}

/**
 * `max_steps` at an old address (`trainer.max_steps`, `builtin.max_steps`). 0, the old default that
 * every run recorded before the move holds, still parses (it caps nothing), so such a run resumes.
 */
export const movedMaxSteps = () => movedKey('max_steps', 'max_steps: N at the top level of the config, or --set max_steps=N', (value) => value === 0)

const backendSchema = () =>
  z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto').describe('TensorFlow.js backend of the built-in trainer: auto (tensorflow if installed, else wasm), tensorflow, wasm or cpu.')

/** The `builtin` keys a kind may take; each is in its block only when the kind asks for it. */
const optionalKeys = {
  seed: (d: number) => z.number().int().default(d),
  weight_decay: (d: number) => z.number().min(0).default(d).describe('AdamW weight decay of the built-in trainer.'),
  max_grad_norm: (d: number) => z.number().min(0).default(d).describe('Gradient clipping by global norm (0 = none).'),
  tensorboard: (d: boolean) => z.boolean().default(d).describe('Write TensorBoard event files beside metrics.jsonl.'),
}
type OptionalKey = keyof typeof optionalKeys
type OptionalShape = {[K in OptionalKey]: ReturnType<(typeof optionalKeys)[K]>}

/** Hugging Face TrainingArguments' defaults for the optional keys (seed 42, weight_decay 0, max_grad_norm 1), tensorboard off. */
export const BUILTIN_DEFAULTS: {[K in OptionalKey]: Parameters<(typeof optionalKeys)[K]>[0]} = {seed: 42, weight_decay: 0, max_grad_norm: 1, tensorboard: false}

/**
 * The trainer keys of a kind's `builtin` block: always `backend` and `workers`, plus the optional
 * keys named in `keys` (a kind whose HF-named keys are top level, like sft's `seed`, leaves them
 * out), with BUILTIN_DEFAULTS unless `defaults` says otherwise. Spread it into the block's object.
 */
export function builtinTrainerShape<K extends OptionalKey = never>(keys: readonly K[] = [], defaults: Partial<{[P in K]: Parameters<(typeof optionalKeys)[P]>[0]}> = {}) {
  const shape: Record<string, z.ZodTypeAny> = {
    backend: backendSchema(),
    workers: workersSchema.describe('Data-parallel worker threads of the built-in trainer (auto = the cores this process may use; 1 = one thread).'),
  }
  for (const key of keys) {
    const make = optionalKeys[key] as (d: unknown) => z.ZodTypeAny
    shape[key] = make(defaults[key] ?? BUILTIN_DEFAULTS[key])
  }
  return shape as {backend: ReturnType<typeof backendSchema>; workers: typeof workersSchema} & Pick<OptionalShape, K>
}

function modelShape(dropout: number) {
  return {
    width: z.number().int().min(8).default(64),
    depth: z.number().int().min(1).default(2),
    heads: z.number().int().min(1).default(4),
    dropout: z.number().min(0).max(1).default(dropout),
    image_size: z.number().int().min(4).default(16),
    patch_size: z.number().int().min(1).default(4),
    vision_width: z.number().int().min(8).default(64),
    vision_depth: z.number().int().min(1).default(1),
  }
}
const contextLength = (d: number) => z.number().int().min(4).default(d).describe('Text tokens the model sees (prompt + answer).')

/**
 * The compact VLM's `builtin.model` block (strict; `.extend()` it for a kind's own keys). A kind
 * that sets the context length from another key (rm-eval's max_seq_length) passes no context_length.
 */
export function builtinModelSchema(defaults: {context_length: number; dropout?: number}): z.ZodObject<ReturnType<typeof modelShape> & {context_length: ReturnType<typeof contextLength>}, 'strict'>
export function builtinModelSchema(defaults?: {dropout?: number}): z.ZodObject<ReturnType<typeof modelShape>, 'strict'>
export function builtinModelSchema(defaults: {context_length?: number; dropout?: number} = {}): z.ZodObject<z.ZodRawShape, 'strict'> {
  const shape: z.ZodRawShape = modelShape(defaults.dropout ?? 0)
  if (defaults.context_length !== undefined) return z.object({...shape, context_length: contextLength(defaults.context_length)}).strict()
  return z.object(shape).strict()
}

/**
 * Hugging Face TrainingArguments names (and the `builtin` block's trainer keys) as a kind's config
 * holds them. Absent keys take the trainer core's defaults.
 */
export interface HfTrainingArgs {
  seed?: number
  max_steps?: number
  num_train_epochs?: number
  per_device_train_batch_size?: number
  gradient_accumulation_steps?: number
  learning_rate?: number
  weight_decay?: number
  max_grad_norm?: number
  /** the built-in trainer has constant and cosine (a kind checks this at launch) */
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

/** Core keys with no HF name (param_groups, freeze, lora, scheduler details, ...), merged over the mapped ones. */
export type TrainerKeysInput = z.input<typeof trainerSchema>

/**
 * The trainer core's keys from HF-named ones: max_steps ≤ 0 → no cap; a `*_strategy` of epoch →
 * every `stepsPerEpoch` steps, no → never. `extra` (core names) is applied last.
 */
export function fromHfTrainingArgs(args: HfTrainingArgs, options: {stepsPerEpoch?: number; extra?: TrainerKeysInput} = {}): TrainerKeys {
  const every = (strategy: HfTrainingArgs['save_strategy'], steps: number | undefined) => (strategy === 'no' ? 0 : strategy === 'epoch' ? (options.stepsPerEpoch ?? 0) : steps)
  const scheduler: NonNullable<TrainerKeysInput['scheduler']> = {}
  if (args.lr_scheduler_type !== undefined) scheduler.kind = args.lr_scheduler_type as 'constant' | 'cosine'
  if (args.warmup_ratio !== undefined) scheduler.warmup_ratio = args.warmup_ratio
  if (args.warmup_steps !== undefined) scheduler.warmup_steps = args.warmup_steps
  const mapped: TrainerKeysInput = {
    backend: args.backend,
    workers: args.workers,
    seed: args.seed,
    max_steps: stepCap(args.max_steps),
    epochs: args.num_train_epochs,
    batch_size: args.per_device_train_batch_size,
    grad_accum: args.gradient_accumulation_steps,
    lr: args.learning_rate,
    weight_decay: args.weight_decay,
    max_grad_norm: args.max_grad_norm,
    scheduler,
    logging_steps: args.logging_steps,
    eval_steps: every(args.eval_strategy, args.eval_steps),
    save_steps: every(args.save_strategy, args.save_steps),
    tensorboard: args.tensorboard,
  }
  const extra = options.extra ?? {}
  return trainerSchema.parse({...mapped, ...extra, scheduler: {...scheduler, ...extra.scheduler}})
}

/** What `api.trainerConfig` gives plugins. */
export const trainerConfigKit = {maxStepsSchema, movedKey, movedMaxSteps, builtinTrainerShape, builtinModelSchema, BUILTIN_DEFAULTS, fromHfTrainingArgs, stepCap}
export type TrainerConfigKit = typeof trainerConfigKit
