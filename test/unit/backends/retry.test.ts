import assert from 'node:assert/strict'
import {test} from 'node:test'

import {decideRetry, reportedExitCode} from '../../../src/backends/local/retry'

test('a signalled attempt reports 128 + signal number, as a shell or AWS Batch would', () => {
  assert.equal(reportedExitCode({exitCode: null, signal: 'SIGKILL'}), 137)
  assert.equal(reportedExitCode({exitCode: null, signal: 'SIGTERM'}), 143)
  assert.equal(reportedExitCode({exitCode: 3, signal: null}), 3)
})

test('with no rules a failure is retried while attempts remain', () => {
  assert.equal(decideRetry([], {exitCode: 1, signal: null}, 1, 3).action, 'retry')
  assert.equal(decideRetry([], {exitCode: 1, signal: null}, 3, 3).action, 'exit')
  assert.equal(decideRetry([], {exitCode: 0, signal: null}, 1, 3).action, 'exit')
})

test('the first matching rule decides; exit-code globs and signals match like Batch', () => {
  const rules = [
    {on_exit_code: '3', action: 'exit' as const},
    {on_signal: 'SIGKILL', action: 'retry' as const},
    {on_exit_code: '13*', action: 'exit' as const},
  ]
  assert.equal(decideRetry(rules, {exitCode: 3, signal: null}, 1, 5).action, 'exit')
  assert.equal(decideRetry(rules, {exitCode: null, signal: 'SIGKILL'}, 1, 5).action, 'retry')
  assert.equal(decideRetry(rules, {exitCode: null, signal: 'SIGTERM'}, 1, 5).action, 'retry', '143 does not match 13*')
  assert.equal(decideRetry(rules, {exitCode: 134, signal: null}, 1, 5).action, 'exit')
  assert.match(decideRetry(rules, {exitCode: 3, signal: null}, 1, 5).reason, /exit code 3; a retry rule says exit/)
})

test('the runtime protocol decides first, as on Batch: exit 2 ends the job, exit 75 retries, even against a config rule', () => {
  const retryAll = [{on_exit_code: '*', action: 'retry' as const}]
  const usage = decideRetry(retryAll, {exitCode: 2, signal: null}, 1, 5)
  assert.equal(usage.action, 'exit')
  assert.match(usage.reason, /config or usage error/)
  assert.equal(decideRetry([], {exitCode: 2, signal: null}, 1, 5).action, 'exit', 'exit 2 is not retried with no rules either')
  assert.equal(decideRetry([{on_exit_code: '7*', action: 'exit' as const}], {exitCode: 75, signal: null}, 1, 5).action, 'retry')
  assert.equal(decideRetry([], {exitCode: 75, signal: null}, 5, 5).action, 'exit', 'a retry needs an attempt left')
})

test('an attempt that timed out is not retried, as AWS Batch does not retry it', () => {
  const decision = decideRetry([], {exitCode: 75, signal: null}, 1, 5, {timedOut: true})
  assert.equal(decision.action, 'exit')
  assert.match(decision.reason, /times out is not retried/)
})

test('the Batch retry strategy and the infra job definitions carry the same built-in rules as the local backend', async () => {
  const {batchRetryStrategy} = await import('../../../src/backends/aws-batch/request.js')
  const {retryStrategy} = await import('../../../infra/containers.js')
  const {BUILTIN_RETRY_RULES} = await import('../../../src/runtime/protocol.js')
  const expected = BUILTIN_RETRY_RULES.map((r) => ({
    ...(r.onStatusReason ? {onStatusReason: r.onStatusReason} : {}),
    ...(r.onExitCode ? {onExitCode: r.onExitCode} : {}),
    action: r.action.toUpperCase(),
  }))
  assert.deepEqual(batchRetryStrategy({attempts: 3, evaluate_on_exit: []}).evaluateOnExit, expected)
  assert.deepEqual(retryStrategy({retryAttempts: 5}).evaluateOnExits.slice(0, expected.length), expected)
  assert.deepEqual(
    expected.find((r) => r.onExitCode === '2'),
    {onExitCode: '2', action: 'EXIT'},
  )
})
