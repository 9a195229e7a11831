import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import * as http from 'node:http'
import type {AddressInfo} from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import {describe, test} from 'node:test'

import type {RunRecord} from '../../src/runs/record'
import {assertMostKillsLanded} from '../helpers/chaos-run'
import {ROOT, rfmJson, tempHome, waitFor} from '../helpers/cli'
import {expectedWeights} from '../helpers/counting'
import {assertSchema} from '../helpers/schema'

const TRAINER = path.join(ROOT, 'test', 'fixtures', 'counting-trainer.js')
const home = tempHome()
// Checkpoint uploads must land well within one trainer step for the "at most save_steps lost per
// kill" bound to be about the trainer, not the poll interval.
const FAST_SYNC = {RFM_CHECKPOINT_POLL_MS: '20'}

interface Job {
  dir: string
  config: string
  stepLog: string
}

function job(maxSteps: number, saveSteps: number, stepMs: number, extra = ''): Job {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-chaos-'))
  const stepLog = path.join(dir, 'steps.log')
  const config = path.join(dir, 'job.yaml')
  writeFileSync(
    config,
    [
      `command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(TRAINER)}, --output_dir, out, --max_steps, "${maxSteps}", --save_steps, "${saveSteps}"]`,
      `env: {STEP_MS: ${stepMs}, STEP_LOG: ${JSON.stringify(stepLog)}, CKPT_BYTES: 4096}`,
      'checkpoints: {dir: out, resume_args: [--resume_from_checkpoint, "True"], save_total_limit: 3}',
      extra,
    ].join('\n'),
  )
  return {dir, config, stepLog}
}

/** [attempt, step] for every step the trainer completed, in order. */
const stepLog = (j: Job): Array<[number, number]> =>
  existsSync(j.stepLog)
    ? readFileSync(j.stepLog, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' ').map(Number) as [number, number])
    : []
const stepsRun = (j: Job) => stepLog(j).map(([, step]) => step)

/** The final checkpoint's weights, from the store. */
function finalWeights(runId: string): string {
  const root = path.join(home, 'store', 'runs', runId, 'checkpoints')
  const {step} = JSON.parse(readFileSync(path.join(root, 'final.json'), 'utf8')) as {step: number}
  return readFileSync(path.join(root, `step-${step}`, 'weights.bin'))
    .subarray(0, 64)
    .toString()
}

async function launch(j: Job, args: string[], env: Record<string, string> = FAST_SYNC): Promise<RunRecord> {
  const {code, json, stderr} = await rfmJson(['cloud', 'launch', 'command', '-c', j.config, '--follow', ...args], {home, env, timeoutMs: 120_000})
  assert.equal(code, 0, `${stderr}\n${JSON.stringify(json).slice(0, 500)}`)
  return json.run
}

/**
 * Steps recomputed after each interruption: how far the previous attempt that ran steps got, minus
 * the checkpoint the next attempt resumed from.
 */
function recomputedPerKill(run: RunRecord, log: Array<[number, number]>): number[] {
  const lastStep = new Map<number, number>()
  for (const [attempt, step] of log) lastStep.set(attempt, step)
  const out: number[] = []
  let reached = 0
  for (const attempt of run.attempts) {
    if (attempt.index > 1 && lastStep.has(attempt.index)) out.push(reached - (attempt.resumedFromStep ?? 0))
    if (lastStep.has(attempt.index)) reached = lastStep.get(attempt.index)!
  }
  return out
}

describe('resume under interruptions (real processes, real signals)', () => {
  test('chaos kills=20, signal=mixed ends equal to an uninterrupted run', async () => {
    // 300 steps of 20 ms: more work than 20 attempts of at most 0.4 s can do, so the kills land (most of
    // them are asked for: a fast machine may finish before the last ones, as in the other chaos tests).
    const plain = job(300, 10, 20)
    const reference = await launch(plain, [])
    assert.equal(reference.attempts.length, 1)
    assert.equal(finalWeights(reference.id), expectedWeights(300))

    const chaotic = job(300, 10, 20)
    const run = await launch(chaotic, ['--chaos', 'kills=20,seed=11,signal=mixed,min=0.1,max=0.4'])
    assertSchema('run', run)
    assert.equal(run.state, 'succeeded')
    assertMostKillsLanded(run, 20)
    assert.ok(run.attempts.some((a) => a.chaos === 'SIGKILL') && run.attempts.some((a) => a.chaos === 'SIGTERM'))
    assert.equal(finalWeights(run.id), finalWeights(reference.id))
    // Resume points never go backwards (attempts killed before they restored record none).
    const resumed = run.attempts.flatMap((a) => (a.resumedFromStep === undefined ? [] : [a.resumedFromStep]))
    assert.deepEqual(
      resumed,
      [...resumed].sort((a, b) => a - b),
    )
  })

  test('with SIGTERM only, every interruption checkpoints first: zero steps recomputed', async () => {
    // 100 steps of 30 ms: more than 8 attempts of at most 0.4 s can do, so (most of) the 8 kills land.
    const j = job(100, 10, 30)
    const run = await launch(j, ['--chaos', 'kills=8,seed=5,signal=TERM,min=0.2,max=0.4'])
    assertMostKillsLanded(run, 8)
    assert.ok(run.attempts.every((a) => !a.chaos || a.chaos === 'SIGTERM'))
    const steps = stepsRun(j)
    assert.deepEqual(
      steps,
      Array.from({length: 100}, (_, i) => i + 1),
      'each step ran exactly once',
    )
    assert.equal(finalWeights(run.id), expectedWeights(100))
    for (const a of run.attempts.filter((x) => x.chaos && x.exitCode === 75)) assert.equal(a.interruptedBy, 'SIGTERM')
  })

  test('with SIGKILL, at most save_steps steps are lost per kill', async () => {
    const saveSteps = 4
    const j = job(40, saveSteps, 100)
    const run = await launch(j, ['--chaos', 'kills=8,seed=9,signal=KILL,min=0.3,max=0.9'])
    assertMostKillsLanded(run, 8)
    assert.ok(run.attempts.every((a) => !a.chaos || a.chaos === 'SIGKILL'))
    const lost = recomputedPerKill(run, stepLog(j))
    assert.ok(lost.length > 0 && lost.every((n) => n >= 0 && n <= saveSteps), `recomputed per kill: ${lost.join(', ')}`)
    assert.equal(finalWeights(run.id), expectedWeights(40))
  })

  test('a kill that lands mid-upload never leaves a checkpoint that is resumed', async () => {
    const j = job(10, 5, 30, 'retries: {attempts: 2}')
    const env = {...FAST_SYNC, RFM_FAULT_PAUSE_BEFORE_MANIFEST_MS: '1500'}
    const {json} = await rfmJson(['cloud', 'launch', 'command', '-c', j.config], {home, env})
    const id = json.run.id as string
    const stepDir = path.join(home, 'store', 'runs', id, 'checkpoints', 'step-5')
    // The files of step 5 are in the store, its manifest is not: kill the attempt right there.
    await waitFor('step 5 files without manifest', () => (existsSync(path.join(stepDir, 'weights.bin')) && !existsSync(path.join(stepDir, 'manifest.json')) ? true : undefined))
    const pid = (await rfmJson(['cloud', 'status', id], {home})).json.run.attempts[0].pid as number
    process.kill(-pid, 'SIGKILL')
    const run = await waitFor(
      'run to finish',
      async () => {
        const r = (await rfmJson(['cloud', 'status', id], {home})).json.run as RunRecord
        return r.state === 'running' || r.state === 'queued' ? undefined : r
      },
      60_000,
    )
    assert.equal(run.state, 'succeeded')
    assert.equal(run.attempts[0].signal, 'SIGKILL')
    assert.equal(run.attempts[1].resumedFromStep, undefined, 'the half-uploaded step 5 was not resumed')
    assert.equal(finalWeights(id), expectedWeights(10))
  })

  test('an EC2 spot interruption notice makes the runtime checkpoint and exit for a retry', async () => {
    let armed = false
    let served = 0
    const imds = http.createServer((req, res) => {
      if (req.method === 'PUT' && req.url === '/latest/api/token') return res.end('token-1')
      if (req.url === '/latest/meta-data/spot/instance-action' && req.headers['x-aws-ec2-metadata-token'] === 'token-1' && armed && served++ === 0) {
        res.setHeader('content-type', 'application/json')
        return res.end(JSON.stringify({action: 'terminate', time: new Date(Date.now() + 120_000).toISOString()}))
      }
      res.statusCode = 404
      res.end()
    })
    await new Promise<void>((resolve) => imds.listen(0, '127.0.0.1', resolve))
    try {
      const j = job(30, 10, 50, 'retries: {attempts: 2}')
      const env = {...FAST_SYNC, RFM_SPOT_ENDPOINT: `http://127.0.0.1:${(imds.address() as AddressInfo).port}`, RFM_SPOT_POLL_MS: '50'}
      const {json} = await rfmJson(['cloud', 'launch', 'command', '-c', j.config], {home, env})
      await waitFor('a few steps', () => (stepsRun(j).length >= 6 ? true : undefined))
      armed = true
      const run = await waitFor(
        'run to finish',
        async () => {
          const r = (await rfmJson(['cloud', 'status', json.run.id], {home})).json.run as RunRecord
          return r.state === 'running' || r.state === 'queued' ? undefined : r
        },
        60_000,
      )
      assert.equal(run.state, 'succeeded')
      assert.deepEqual([run.attempts[0].exitCode, run.attempts[0].interruptedBy, run.attempts[0].action], [75, 'spot-notice', 'retry'])
      assert.ok((run.attempts[1].resumedFromStep ?? 0) >= 6)
      assert.deepEqual(
        stepsRun(j),
        Array.from({length: 30}, (_, i) => i + 1),
        'no step recomputed',
      )
      assert.equal(finalWeights(run.id), expectedWeights(30))
    } finally {
      imds.close()
    }
  })
})
