import {z} from 'zod'

import {parseDuration} from '../config/duration'

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
      .refine((v) => /^SIG[A-Z0-9]+$/.test(v), 'a signal name such as SIGKILL or TERM')
      .optional(),
    action: z.enum(['retry', 'exit']),
  })
  .strict()
  .refine((rule) => rule.on_exit_code !== undefined || rule.on_signal !== undefined, 'a rule with on_exit_code or on_signal')

/** Keys every job kind has. A kind's own schema is merged with this one. */
export const coreJobShape = {
  name: z.string().min(1).max(100).optional().describe('A display name for the run.'),
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
      return seconds ?? 0
    })
    .optional()
    .describe('Wall-clock limit of one attempt (e.g. 30m, 2h); the attempt is stopped when it runs out.'),
  resources: z
    .object({
      gpus: z.number().int().min(0).max(64).optional().describe('GPUs of the job (default: the launcher\'s count, e.g. torchrun --nproc_per_node, else the kind\'s estimate).'),
      cpus: z.number().int().min(1).optional(),
      memory_gib: z.number().positive().optional(),
    })
    .strict()
    .optional()
    .describe('Overrides of the resource estimate: {gpus, cpus, memory_gib}; sizes the AWS Batch request and rfm cloud plan.'),
} satisfies z.ZodRawShape

export const CORE_KEYS = Object.keys(coreJobShape)
