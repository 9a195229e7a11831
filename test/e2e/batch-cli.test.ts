/**
 * The aws-batch backend through the real CLI, in its own processes: the AWS SDK talks HTTP to the
 * fake Batch (AWS_ENDPOINT_URL_BATCH/_CLOUDWATCH_LOGS/_EC2), which runs the real runtime per attempt.
 */
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {ROOT, rfm, rfmJson, tempHome, waitFor} from '../helpers/cli'
import {expectedWeights} from '../helpers/counting'
import {FakeBatch, JOB_DEFINITION, QUEUES, RUNTIME} from '../helpers/fake-batch'
import {assertSchema} from '../helpers/schema'

const TRAINER = path.join(ROOT, 'test', 'fixtures', 'counting-trainer.js')
const node = JSON.stringify(process.execPath)

describe('aws-batch through the CLI (SDK over HTTP to the fake Batch)', () => {
  let fake: FakeBatch
  let home: string
  let env: Record<string, string>
  before(async () => {
    fake = await new FakeBatch({runtime: RUNTIME, graceMs: 5000, env: {RFM_CHECKPOINT_POLL_MS: '20'}}).start()
    const url = await fake.serveHttp({'us-east-1a': 0.3771})
    home = tempHome()
    const profile = {backend: 'aws-batch', store: `file://${home}/store`, region: 'us-east-1', queues: QUEUES, jobDefinitions: {command: JOB_DEFINITION}, logGroup: '/rfm/jobs'}
    writeFileSync(path.join(home, 'config.json'), JSON.stringify({active: 'cloud', profiles: {cloud: profile}}))
    env = {
      AWS_ENDPOINT_URL_BATCH: url,
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: url,
      AWS_ENDPOINT_URL_EC2: url,
      AWS_ACCESS_KEY_ID: 'fake',
      AWS_SECRET_ACCESS_KEY: 'fake',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      RFM_BATCH_POLL_MS: '50',
    }
  })
  after(() => fake.stop())

  const job = (lines: string[]) => {
    // The "laptop" folder holding the config is the command's workdir, staged at launch.
    mkdirSync(path.join(home, 'laptop'), {recursive: true})
    const file = path.join(home, 'laptop', `job-${Math.random().toString(16).slice(2)}.yaml`)
    writeFileSync(file, lines.join('\n') + '\n')
    return file
  }

  test("launch, a spot reclaim, logs -f across attempts, status with Batch's view, cost", async () => {
    const out = 'out' // relative to the workdir
    const stepLog = path.join(home, 'steps.log')
    const file = job([
      `command: [${node}, ${JSON.stringify(TRAINER)}, --output_dir, ${JSON.stringify(out)}, --max_steps, "30", --save_steps, "10"]`,
      `env: {STEP_MS: 40, STEP_LOG: ${JSON.stringify(stepLog)}, CKPT_BYTES: 4096}`,
      `checkpoints: {dir: ${JSON.stringify(out)}, resume_args: [--resume_from_checkpoint, "True"]}`,
      'retries: {attempts: 3}',
    ])
    const launched = await rfmJson(['cloud', 'launch', 'command', '-c', file], {home, env})
    assert.equal(launched.code, 0, launched.stderr)
    assertSchema('cloud-launch', launched.json)
    const id = launched.json.run.id as string
    const jobId = JSON.parse(readFileSync(path.join(home, 'store', 'runs', id, 'run.json'), 'utf8')).backend.jobId as string
    await waitFor('a few steps', () => (existsSync(stepLog) && readFileSync(stepLog, 'utf8').split('\n').length > 6 ? true : undefined))
    assert.ok(fake.reclaim(jobId))

    const logs = await rfmJson(['cloud', 'logs', id, '-f'], {home, env, timeoutMs: 60_000})
    assert.equal(logs.code, 0, logs.stderr)
    assertSchema('cloud-logs', logs.json)
    assert.equal(logs.json.state, 'succeeded')
    assert.deepEqual(
      logs.json.attempts.map((a: {attempt: number}) => a.attempt),
      [1, 2],
    )
    assert.match(logs.json.attempts[1].log, /done at step 30/)

    const status = await rfmJson(['cloud', 'status', id], {home, env})
    assertSchema('cloud-status', status.json)
    const run = status.json.run
    assert.equal(run.state, 'succeeded')
    // The spot notice reached the runtime at IMDS: it checkpointed and exited 75 before the host went.
    assert.equal(run.attempts[0].statusReason, 'Essential container in task exited')
    assert.deepEqual([run.attempts[0].exitCode, run.attempts[0].interruptedBy], [75, 'spot-notice'])
    assert.deepEqual([run.attempts[0].action, run.attempts[0].instanceType, run.attempts[0].availabilityZone], ['retry', 'g5.xlarge', 'us-east-1a'])
    const text = await rfm(['cloud', 'status', id], {home, env})
    assert.match(text.stdout, /Batch {5}job [0-9a-f-]+ SUCCEEDED/)
    assert.match(text.stdout, /attempt 1: g5\.xlarge us-east-1a spot — Essential container in task exited/)

    const steps = readFileSync(stepLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => Number(l.split(' ')[1]))
    assert.deepEqual(
      steps,
      Array.from({length: 30}, (_, i) => i + 1),
      'no step recomputed after the graceful reclaim',
    )
    const root = path.join(home, 'store', 'runs', id, 'checkpoints')
    const {step} = JSON.parse(readFileSync(path.join(root, 'final.json'), 'utf8')) as {step: number}
    assert.equal(
      readFileSync(path.join(root, `step-${step}`, 'weights.bin'))
        .subarray(0, 64)
        .toString(),
      expectedWeights(30),
    )

    const cost = await rfmJson(['cloud', 'cost', id], {home, env})
    assert.equal(cost.code, 0, cost.stderr)
    assertSchema('cloud-cost', cost.json)
    const [report] = cost.json.runs
    assert.equal(report.applicable, true)
    assert.deepEqual(
      report.attempts.map((a: {market: string; interrupted: boolean}) => [a.market, a.interrupted]),
      [
        ['spot', true],
        ['spot', false],
      ],
    )
    assert.ok(report.totalCost > 0 && report.savings > 0)
    const perHour = report.attempts.map((a: {pricePerHour: number}) => a.pricePerHour)
    assert.ok(
      perHour.every((p: number) => Math.abs(p - 0.3771) < 1e-6),
      `the spot price in force: ${perHour}`,
    )
    const table = await rfm(['cloud', 'cost', id], {home, env})
    assert.match(table.stdout, /Total \$[0-9.]+ vs \$[0-9.]+ on-demand/)
    // Each attempt shows what was charged before its container started, and where that came from.
    assert.match(table.stdout, /OVERHEAD/)
    assert.match(table.stdout, /\+[0-9.]+s \((batch|observed|estimated)\)/)
    assert.ok(report.attempts.every((a: {chargedFromSource: string}) => ['batch', 'observed', 'estimated'].includes(a.chargedFromSource)))
  })

  test('ls --queues shows the job in its queue; cancel terminates it and the run ends cancelled', async () => {
    const file = job([`command: [${node}, -e, "console.log('up'); setInterval(() => {}, 1000)"]`])
    const id = (await rfmJson(['cloud', 'launch', 'command', '-c', file], {home, env})).json.run.id as string
    const jobId = JSON.parse(readFileSync(path.join(home, 'store', 'runs', id, 'run.json'), 'utf8')).backend.jobId as string
    await waitFor('the job to run', () => (fake.job(jobId).status === 'RUNNING' ? true : undefined))
    const ls = await rfmJson(['cloud', 'ls', '--queues'], {home, env})
    assertSchema('cloud-ls', ls.json)
    assert.ok(ls.json.queueJobs.some((j: {jobId: string; runId: string; status: string}) => j.jobId === jobId && j.runId === id && j.status === 'RUNNING'))
    const cancel = await rfmJson(['cloud', 'cancel', id, '--grace', '2'], {home, env, timeoutMs: 60_000})
    assert.equal(cancel.code, 0, cancel.stderr)
    assertSchema('cloud-cancel', cancel.json)
    assert.equal(cancel.json.run.state, 'cancelled')
    assert.equal(fake.calls.TerminateJob.length, 1)
  })

  test('an expired session: exit 1, a hint to log in again, and the run is not left queued', async () => {
    const file = job([`command: [${node}, -e, "0"]`])
    const {code, json} = await rfmJson(['cloud', 'launch', 'command', '-c', file], {home, env: {...env, AWS_ACCESS_KEY_ID: 'EXPIRED'}})
    assert.equal(code, 1)
    assertSchema('error', json)
    assert.equal(json.error.code, 'AWS_CREDENTIALS')
    assert.match(json.error.hint, /aws sso login/)
    const runs = (await rfmJson(['cloud', 'ls'], {home, env})).json.runs as Array<{state: string}>
    assert.ok(!runs.some((r) => r.state === 'queued'))
  })
})
