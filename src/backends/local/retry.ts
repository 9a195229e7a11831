import {constants} from 'node:os'

import {batchGlob, BUILTIN_RETRY_RULES, EXIT_OK} from '../../runtime/protocol'
import type {RetryRule} from '../../runs/record'

export interface AttemptExit {
  exitCode: number | null
  signal: string | null
}

export interface RetryDecision {
  action: 'retry' | 'exit'
  reason: string
}

/** The exit code a shell or AWS Batch would report: 128 + signal number for a signalled process. */
export function reportedExitCode(exit: AttemptExit): number | null {
  if (exit.exitCode !== null) return exit.exitCode
  const number = exit.signal ? constants.signals[exit.signal as NodeJS.Signals] : undefined
  return number === undefined ? null : 128 + number
}

function matchesCode(pattern: string, code: number | null): boolean {
  if (code === null) return false
  if (pattern === '*') return true
  return pattern.endsWith('*') ? String(code).startsWith(pattern.slice(0, -1)) : String(code) === pattern
}

export function describeExit(exit: AttemptExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.exitCode}`
}

/**
 * AWS Batch's retry semantics, so a job behaves the same on both backends: an attempt that timed out
 * is not retried (Batch: "If a job is terminated due to a timeout, it isn't retried"); otherwise the
 * built-in rules of the runtime protocol (exit 75 retries, exit 2 ends the job), then the config's
 * rules, in order: the first that matches decides, and with none matching a failed attempt is
 * retried while attempts remain. A retry always needs an attempt left.
 */
export function decideRetry(rules: RetryRule[], exit: AttemptExit, attempt: number, maxAttempts: number, options: {timedOut?: boolean} = {}): RetryDecision {
  const what = describeExit(exit)
  if (exit.exitCode === EXIT_OK) return {action: 'exit', reason: 'exit code 0'}
  if (options.timedOut) return {action: 'exit', reason: `${what}; an attempt that times out is not retried (as on AWS Batch)`}
  const code = reportedExitCode(exit)
  const builtin = BUILTIN_RETRY_RULES.find((r) => r.onExitCode !== undefined && code !== null && batchGlob(r.onExitCode, String(code)))
  const rule = rules.find((r) => {
    const codeOk = r.on_exit_code === undefined || matchesCode(r.on_exit_code, code)
    const signalOk = r.on_signal === undefined || r.on_signal === exit.signal
    return codeOk && signalOk
  })
  const action = builtin?.action ?? rule?.action
  if (action === 'exit') return {action: 'exit', reason: builtin ? `${what}: ${builtin.why}` : `${what}; a retry rule says exit`}
  if (attempt >= maxAttempts) return {action: 'exit', reason: `${what}; no attempts left (${attempt} of ${maxAttempts})`}
  const why = builtin ? builtin.why : what
  return {action: 'retry', reason: `${why}; retrying (attempt ${attempt + 1} of ${maxAttempts})`}
}
