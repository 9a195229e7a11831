import {constants} from 'node:os'
import {z} from 'zod'

import {parseDuration} from '../config/duration'

const MEMORY = /^\s*(\d+(?:\.\d+)?)\s*(GiB|Gi|G|GB|MiB|Mi|M|MB)?\s*$/

/** A memory size in GiB: a number is GiB; strings take GiB/Gi/G or MiB/Mi/M. */
function memoryGiB(value: number | string): number {
  if (typeof value === 'number') return value
  const [, amount, unit = 'GiB'] = MEMORY.exec(value) ?? []
  return /^M/.test(unit) ? Number(amount) / 1024 : Number(amount)
}

const retryRule = z
  .object({
    on_exit_code: z
      .union([z.string(), z.number().int()])
      .transform(String)
      .refine((v) => /^(\d+\*?|\*)$/.test(v), 'an exit code pattern: digits, optionally ending in * (as in AWS Batch)')
      .optional(),
    on_signal: z
      .string()
      .transform((v) => (v.startsWith('SIG') ? v : `SIG${v}`).toUpperCase())
      .refine((v) => v in constants.signals, 'a signal name such as SIGKILL or TERM')
      .optional(),
    action: z.enum(['retry', 'exit']),
  })
  .strict()
  .refine((rule) => rule.on_exit_code !== undefined || rule.on_signal !== undefined, 'a rule with on_exit_code or on_signal')

/**
 * The longest attempt timeout: Node's timers hold at most 2^31-1 ms (24.8 days; a longer one fires
 * at once), so a timeout is at most 24 days. AWS Batch's attemptDurationSeconds takes this too.
 */
export const MAX_TIMEOUT_SECONDS = 24 * 86400

/** Keys every job kind has. A kind's own schema is merged with this one. */
export const coreJobShape = {
  name: z
    .string()
    .min(1)
    .max(100)
    // eslint-disable-next-line no-control-regex
    .refine((v) => !/[\u0000-\u001f\u007f\ufffd]/.test(v), 'a name without control characters (newline, NUL, ...) or undecodable bytes')
    .optional()
    .describe('A display name for the run.'),
  retries: z
    .object({
      attempts: z
        .number()
        .int()
        .min(1)
        .max(10)
        .optional()
        .describe('Total attempts, 1–10, as in AWS Batch retryStrategy.attempts; default 5 on an AWS Batch spot queue (each reclaim uses an attempt), else 1.'),
      evaluate_on_exit: z
        .array(retryRule)
        .max(5)
        .default([])
        .describe('Up to 5 rules {on_exit_code | on_signal, action: retry | exit}; the first match decides, and with no match a failed attempt is retried.'),
    })
    .strict()
    .default({})
    .describe('How failed attempts are retried: {attempts, evaluate_on_exit}.'),
  timeout: z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const seconds = parseDuration(v)
      if (seconds === undefined) ctx.addIssue({code: z.ZodIssueCode.custom, message: 'a duration such as 90s, 30m or 2h'})
      else if (seconds > MAX_TIMEOUT_SECONDS) ctx.addIssue({code: z.ZodIssueCode.custom, message: `a duration of at most ${MAX_TIMEOUT_SECONDS / 86400}d (the longest timer rfm can set)`})
      return seconds ?? 0
    })
    .optional()
    .describe('Wall-clock limit of one attempt (e.g. 30m, 2h); the attempt is stopped when it runs out.'),
  resources: z
    .object({
      gpus: z.number().int().min(0).max(64).optional().describe("GPUs of the job (default: the launcher's count, e.g. torchrun --nproc_per_node, else the kind's estimate)."),
      cpus: z.number().positive().max(192).optional().describe('vCPUs of the job.'),
      memory: z
        .union([z.number().positive(), z.string().regex(MEMORY, 'a size such as 30GiB, 30000MiB or 30 (GiB)')])
        .transform(memoryGiB)
        .optional()
        .describe('Memory of the job in GiB (a number) or with a unit (30GiB, 30000MiB): a hard limit on AWS Batch, the container is killed above it.'),
    })
    .strict()
    .optional()
    .describe(
      "What the job needs, over the kind's estimate: {gpus, cpus, memory}; sizes the AWS Batch request and rfm cloud plan. The command kind asks Batch only for the values given (else the job definition's apply).",
    ),
} satisfies z.ZodRawShape

export const CORE_KEYS = Object.keys(coreJobShape)

/**
 * The one switch between a kind's two trainers, for every kind that has both (sft, grpo, rm-eval,
 * vla-sensor): `builtin` (rfm's TensorFlow.js trainer, in the runtime) or `external` (the pipeline's
 * own script; the kind's external settings say how to run it). Such a kind spreads this into its
 * schema (`api.trainerConfig.trainerModeShape`), so kinds with one trainer refuse the key. A boolean
 * is a launch flag's value (`--external` / `--no-external`).
 */
export const trainerModeShape = {
  trainer_mode: z
    .preprocess((v) => (v === true ? 'external' : v === false ? 'builtin' : v), z.enum(['builtin', 'external']))
    .optional()
    .describe("Which trainer runs the job: builtin (default; rfm's TensorFlow.js trainer) or external (the pipeline's own script)."),
}

/** Whether a config (validated or raw) trains with the external trainer. */
export function trainsExternally(config: {trainer_mode?: unknown}): boolean {
  return config.trainer_mode === 'external' || config.trainer_mode === true
}
