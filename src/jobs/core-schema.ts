import {constants} from 'node:os'
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
      attempts: z.number().int().min(1).max(10).default(1).describe('Total attempts, 1–10, as in AWS Batch retryStrategy.attempts.'),
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
} satisfies z.ZodRawShape

export const CORE_KEYS = Object.keys(coreJobShape)
