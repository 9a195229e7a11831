import {constants} from 'node:os'

import {EXIT_RETRY} from '../../plugin-api'
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
 * AWS Batch's retry semantics, so a job behaves the same on both backends: the runtime's "retry me"
 * code (an interruption it checkpointed for) retries; otherwise the first rule that matches decides,
 * and with no rule matching, a failed attempt is retried while attempts remain.
 */
export function decideRetry(rules: RetryRule[], exit: AttemptExit, attempt: number, maxAttempts: number): RetryDecision {
  const what = describeExit(exit)
  if (exit.exitCode === 0) return {action: 'exit', reason: 'exit code 0'}
  if (exit.exitCode === EXIT_RETRY && attempt < maxAttempts) {
    return {action: 'retry', reason: `interrupted after checkpointing (exit ${EXIT_RETRY}); retrying (attempt ${attempt + 1} of ${maxAttempts})`}
  }
  const code = reportedExitCode(exit)
  const rule = rules.find((r) => {
    const codeOk = r.on_exit_code === undefined || matchesCode(r.on_exit_code, code)
    const signalOk = r.on_signal === undefined || r.on_signal === exit.signal
    return codeOk && signalOk
  })
  if (rule?.action === 'exit') return {action: 'exit', reason: `${what}; a retry rule says exit`}
  if (attempt >= maxAttempts) return {action: 'exit', reason: `${what}; no attempts left (${attempt} of ${maxAttempts})`}
  return {action: 'retry', reason: `${what}; retrying (attempt ${attempt + 1} of ${maxAttempts})`}
}
