import assert from 'node:assert/strict'
import {test} from 'node:test'

import {decideRetry, reportedExitCode} from '../src/backends/local/retry'

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
    {on_exit_code: '2', action: 'exit' as const},
    {on_signal: 'SIGKILL', action: 'retry' as const},
    {on_exit_code: '13*', action: 'exit' as const},
  ]
  assert.equal(decideRetry(rules, {exitCode: 2, signal: null}, 1, 5).action, 'exit')
  assert.equal(decideRetry(rules, {exitCode: null, signal: 'SIGKILL'}, 1, 5).action, 'retry')
  assert.equal(decideRetry(rules, {exitCode: null, signal: 'SIGTERM'}, 1, 5).action, 'retry', '143 does not match 13*')
  assert.equal(decideRetry(rules, {exitCode: 134, signal: null}, 1, 5).action, 'exit')
  assert.match(decideRetry(rules, {exitCode: 2, signal: null}, 1, 5).reason, /exit code 2; a retry rule says exit/)
})
