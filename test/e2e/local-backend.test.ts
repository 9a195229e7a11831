import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {describe, test} from 'node:test'

import type {RunRecord} from '../../src/runs/record'
import {ROOT, rfm, rfmJson, tempHome, waitFor} from '../helpers/cli'
import {assertSchema} from '../helpers/schema'

const TRAINER = path.join(ROOT, 'test', 'fixtures', 'flaky-trainer.js')
const home = tempHome()

function markDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'rfm-marks-'))
}

function trainerArgs(marks: string, env: Record<string, string | number>, extra: string[] = []): string[] {
  const sets = Object.entries({MARK_DIR: marks, ...env}).flatMap(([k, v]) => ['--set', `env.${k}=${JSON.stringify(String(v))}`])
  return ['cloud', 'launch', 'command', '--set', `command=[${JSON.stringify(process.execPath)}, ${JSON.stringify(TRAINER)}]`, ...sets, ...extra]
}

async function status(id: string): Promise<RunRecord> {
  const {json} = await rfmJson(['cloud', 'status', id], {home})
  assertSchema('cloud-status', json)
  return json.run
}

const waitForState = (id: string, states: string[]) =>
  waitFor(`run ${id} to reach ${states.join('|')}`, async () => {
    const run = await status(id)
    return states.includes(run.state) ? run : undefined
  })

const pidOf = (marks: string, attempt: number) =>
  waitFor(`attempt ${attempt} to start`, () => (existsSync(`${marks}/pid-${attempt}`) ? Number(readFileSync(`${marks}/pid-${attempt}`, 'utf8')) : undefined))

/** Alive and not a zombie (a killed orphan waits for init to reap it). */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}
const gone = (pid: number) => waitFor(`pid ${pid} to exit`, () => (alive(pid) ? undefined : true), 5000)

describe('local backend, real processes', () => {
  test('launch --follow streams the log and ends succeeded', async () => {
    const example = path.join(ROOT, 'examples', 'command', 'hello.yaml')
    const result = await rfm(['cloud', 'launch', 'command', '-c', example, '--set', 'env.STEPS=2', '--follow'], {home})
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /^Launched command-\d{8}-\d{6}-[0-9a-f]{8} \(command\) on the local backend\.$/m)
    assert.match(result.stdout, /--- attempt 1 ---\n\[rfm\] run .* attempt 1: node train\.js/)
    assert.match(result.stdout, /hello from rfm[\s\S]*step 2\/2 loss 0\.6400\ndone\n/)
    assert.match(result.stdout, /Run command-\S+ succeeded/)
  })

  test('launch without --follow returns at once; the run goes on after the CLI exits', async () => {
    const marks = markDir()
    const {code, json} = await rfmJson(trainerArgs(marks, {}), {home})
    assert.equal(code, 0)
    assertSchema('cloud-launch', json)
    assert.equal(json.dryRun, false)
    assert.equal(json.run.state, 'queued')
    const run = await waitForState(json.run.id, ['succeeded', 'failed'])
    assert.equal(run.state, 'succeeded')
    assert.equal(run.attempts.length, 1)
    assert.equal(run.attempts[0].exitCode, 0)
    const logs = await rfmJson(['cloud', 'logs', run.id], {home})
    assertSchema('cloud-logs', logs.json)
    assert.match(logs.json.attempts[0].log, /attempt 1 trained/)
  })

  test('an attempt killed by SIGKILL is retried, and both attempts are recorded', async () => {
    const marks = markDir()
    const launch = await rfmJson(trainerArgs(marks, {SUCCEED_ON: 2}, ['--set', 'retries={attempts: 3, evaluate_on_exit: [{on_signal: SIGKILL, action: retry}, {on_exit_code: "*", action: exit}]}']), {
      home,
    })
    const id = launch.json.run.id
    process.kill(await pidOf(marks, 1), 'SIGKILL')
    const run = await waitForState(id, ['succeeded', 'failed', 'cancelled'])
    assert.equal(run.state, 'succeeded')
    assert.equal(run.attempts.length, 2)
    assert.deepEqual(
      run.attempts.map((a) => [a.index, a.exitCode, a.signal, a.action]),
      [
        [1, null, 'SIGKILL', 'retry'],
        [2, 0, null, 'exit'],
      ],
    )
    assert.match(run.attempts[0].reason ?? '', /killed by SIGKILL; retrying \(attempt 2 of 3\)/)
    const events = readFileSync(path.join(home, 'store', 'runs', id, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).type)
    assert.deepEqual(events, ['run_created', 'attempt_started', 'attempt_ended', 'attempt_started', 'attempt_ended', 'run_finished'])
    const text = await rfm(['cloud', 'status', id], {home})
    assert.match(text.stdout, /\n1 .* SIGKILL\s+retry\n2 .* exit 0\s+exit/)
  })

  test('a failing command ends failed with its exit code, and --follow exits 1', async () => {
    const marks = markDir()
    const result = await rfm([...trainerArgs(marks, {EXIT_CODE: 7}), '--follow'], {home})
    assert.equal(result.code, 1)
    assert.match(result.stdout, /failed: exit code 7; no attempts left \(1 of 1\)/)
    const {json} = await rfmJson(['cloud', 'ls', '-n', '1'], {home})
    assertSchema('cloud-ls', json)
    const run = await status(json.runs[0].id)
    assert.equal(run.state, 'failed')
    assert.equal(run.exitCode, 7)
  })

  test('a retry rule can stop retries for an exit code', async () => {
    const marks = markDir()
    const result = await rfmJson([...trainerArgs(marks, {EXIT_CODE: 2}), '--set', 'retries={attempts: 5, evaluate_on_exit: [{on_exit_code: 2, action: exit}]}', '--follow'], {home})
    assert.equal(result.code, 1)
    assert.equal(result.json.run.state, 'failed')
    assert.equal(result.json.run.attempts.length, 1)
  })

  test('cancel sends SIGTERM to the trainer and records the run cancelled', async () => {
    const marks = markDir()
    const {json} = await rfmJson(trainerArgs(marks, {SUCCEED_ON: 99}), {home})
    const pid = await pidOf(marks, 1)
    const cancel = await rfmJson(['cloud', 'cancel', json.run.id], {home})
    assert.equal(cancel.code, 0)
    assertSchema('cloud-cancel', cancel.json)
    assert.equal(cancel.json.run.state, 'cancelled')
    assert.equal(cancel.json.alreadyFinished, false)
    assert.ok(existsSync(`${marks}/term-1`), 'the trainer received SIGTERM')
    await gone(pid)
    const again = await rfmJson(['cloud', 'cancel', json.run.id], {home})
    assert.equal(again.json.alreadyFinished, true)
  })

  test('cancel escalates to SIGKILL when the trainer ignores SIGTERM past the grace period', async () => {
    const marks = markDir()
    const {json} = await rfmJson(trainerArgs(marks, {SUCCEED_ON: 99, IGNORE_TERM: 1}), {home})
    const pid = await pidOf(marks, 1)
    const cancel = await rfmJson(['cloud', 'cancel', json.run.id, '--grace', '1'], {home})
    assert.equal(cancel.json.run.state, 'cancelled')
    assert.equal(cancel.json.run.attempts[0].signal, 'SIGKILL')
    assert.ok(existsSync(`${marks}/term-ignored-1`), 'SIGTERM came first')
    await gone(pid)
  })

  test('an attempt past its timeout is stopped and not retried, as on AWS Batch', async () => {
    const marks = markDir()
    const result = await rfmJson([...trainerArgs(marks, {SUCCEED_ON: 2}), '--set', 'timeout=1s', '--set', 'retries.attempts=2', '--follow'], {home})
    assert.equal(result.json.run.state, 'failed')
    assert.equal(result.json.run.attempts.length, 1, 'attempts were left, but a timeout ends the run')
    assert.match(result.json.run.attempts[0].reason, /^timed out after 1s; .*times out is not retried/)
    assert.ok(existsSync(`${marks}/term-1`), 'a timed-out attempt gets SIGTERM first')
  })

  test('a run whose supervisor died shows as lost, and cancel closes it', async () => {
    const marks = markDir()
    const {json} = await rfmJson(trainerArgs(marks, {SUCCEED_ON: 99}), {home})
    const trainer = await pidOf(marks, 1)
    const supervisor = (await status(json.run.id)).backend.supervisorPid as number
    process.kill(supervisor, 'SIGKILL')
    const view = await waitFor('lost', async () => {
      const {json: s} = await rfmJson(['cloud', 'status', json.run.id], {home})
      return s.live.state === 'lost' ? s : undefined
    })
    assert.match(view.live.reason, /supervisor \(pid \d+\) is no longer running/)
    assert.equal(view.run.state, 'lost', 'the run record shown agrees with live.state (D19)')
    assertSchema('cloud-status', view)
    const cancel = await rfmJson(['cloud', 'cancel', json.run.id], {home})
    assert.equal(cancel.json.run.state, 'cancelled')
    await gone(trainer)
  })
})
