/**
 * The end-to-end scenario the local backend passes under chaos (test/e2e/command-chaos.test.ts), on the
 * aws-batch backend: the fake Batch runs the real runtime for each attempt and reclaims attempts as
 * spot interruptions at seeded random moments; Batch's retryStrategy (the one the backend sent)
 * brings the job back and the runtime resumes from the committed checkpoint.
 */
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {DescribeSpotPriceHistoryCommand, EC2Client} from '@aws-sdk/client-ec2'
import {mockClient} from 'aws-sdk-client-mock'

import {seededRandom} from '../../src/backends/local/chaos'
import {describeBatch} from '../../src/backends/aws-batch/render'
import type {BatchAttempt} from '../../src/backends/aws-batch/sync'
import {AwsPriceSource} from '../../src/cost/prices'
import {costTotal, integrate, runCost} from '../../src/cost/report'
import type {RunRecord} from '../../src/runs/record'
import {loadCatalog} from '../../src/scheduler/catalog'
import {ROOT, rfmJson, tempHome} from '../helpers/cli'
import {expectedWeights} from '../helpers/counting'
import {batchWorld, FakeBatch, RUNTIME, type BatchWorld, type FakeHost} from '../helpers/fake-batch'
import {startS3rver, type S3rverHandle} from '../helpers/s3rver'
import {assertSchema} from '../helpers/schema'

const TRAINER = path.join(ROOT, 'test', 'fixtures', 'counting-trainer.js')
const HOSTS: FakeHost[] = [
  {instanceType: 'g5.xlarge', availabilityZone: 'us-east-1a', lifecycle: 'spot'},
  {instanceType: 'g5.xlarge', availabilityZone: 'us-east-1b', lifecycle: 'spot'},
  {instanceType: 'g6.xlarge', availabilityZone: 'us-east-1c', lifecycle: 'on-demand'},
]
/** Spot prices the mocked EC2 answers with, by zone (constant over the run). */
const SPOT_PRICE: Record<string, number> = {'us-east-1a': 0.3771, 'us-east-1b': 0.4123}

interface Scenario {
  run: RunRecord
  stepLog: string
}

// Each suite sets these in its before(); the suites of a file run one after the other.
let world: BatchWorld
let fake: FakeBatch

/**
 * Launches the counting trainer and reclaims its first `reclaims` attempts at seeded moments
 * between minMs and maxMs after each starts. Callers size the job so that reclaims × maxMs is
 * less than steps × stepMs: the job cannot finish before the last reclaim lands.
 */
async function scenario(steps: number, saveSteps: number, stepMs: number, reclaims: number, seed: number, [minMs, maxMs]: [number, number], graceful: (reclaim: number) => boolean): Promise<Scenario> {
  assert.ok(reclaims * maxMs < steps * stepMs)
  const stepLog = path.join(world.dir, `steps-${seed}.log`)
  // Relative to the workdir, which the runtime materialises afresh for each attempt.
  const outDir = `out-${seed}`
  const file = world.config([
    `command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(TRAINER)}, --output_dir, ${JSON.stringify(outDir)}, --max_steps, "${steps}", --save_steps, "${saveSteps}"]`,
    `env: {STEP_MS: ${stepMs}, STEP_LOG: ${JSON.stringify(stepLog)}, CKPT_BYTES: 4096}`,
    `checkpoints: {dir: ${JSON.stringify(outDir)}, resume_args: [--resume_from_checkpoint, "True"], save_total_limit: 3}`,
    'retries: {attempts: 10}',
  ])
  const random = seededRandom(seed)
  let done = 0
  fake.onAttemptStart = (job, attempt) => {
    if (done >= reclaims) return
    const afterMs = minMs + random() * (maxMs - minMs)
    const soft = graceful(done)
    // The clock starts at the runtime's first line (it has recorded its host and not yet started
    // the trainer), so a slow start on a loaded machine does not change what is being tested.
    const stream = job.current!.logStream
    const arm = () => {
      if (!fake.streams.get(stream)?.length) return void setTimeout(arm, 5)
      setTimeout(() => {
        if (fake.reclaim(job.jobId, {graceful: soft, attempt})) done++
      }, afterMs)
    }
    arm()
  }
  const run = await world.finish(await world.launch(file), 120_000)
  fake.onAttemptStart = undefined
  return {run, stepLog}
}

/** The final checkpoint's weights, read back from the store. */
const finalWeights = async (run: RunRecord) => {
  const root = `runs/${run.id}/checkpoints/`
  const {step} = JSON.parse(String(await world.runs.store.get(root + 'final.json'))) as {step: number}
  return (await world.runs.store.get(`${root}step-${step}/weights.bin`))!.subarray(0, 64).toString()
}
const stepsRun = (s: Scenario) =>
  existsSync(s.stepLog)
    ? readFileSync(s.stepLog, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => Number(l.split(' ')[1]))
    : []

describe('aws-batch under spot reclaims (fake Batch, real runtime, file:// store)', () => {
  before(async () => {
    world = await batchWorld()
    fake = await new FakeBatch({runtime: RUNTIME, hosts: HOSTS, graceMs: 5000, env: {RFM_CHECKPOINT_POLL_MS: '20'}}).start()
  })
  after(() => fake.stop())

  let graceful: Scenario

  test('reclaims with the spot notice: the runtime checkpoints and exits 75, Batch retries per the retryStrategy, zero steps recomputed', async () => {
    graceful = await scenario(80, 10, 30, 5, 7, [250, 450], () => true)
    const {run} = graceful
    assertSchema('run', run)
    assert.equal(run.state, 'succeeded')
    const attempts = run.attempts as BatchAttempt[]
    assert.equal(attempts.length, 6, 'five reclaims, then the attempt that finished')
    // The runtime saw the spot notice at IMDS, checkpointed and exited 75 before the host went:
    // the container exited on its own, so Batch reports that, and the onExitCode 75 rule retries.
    for (const a of attempts.slice(0, 5)) {
      assert.deepEqual([a.exitCode, a.statusReason, a.action, a.interruptedBy], [75, 'Essential container in task exited', 'retry', 'spot-notice'])
    }
    assert.deepEqual([attempts[5].exitCode, attempts[5].action], [0, 'exit'])
    assert.deepEqual(
      stepsRun(graceful),
      Array.from({length: 80}, (_, i) => i + 1),
      'each step ran exactly once',
    )
    assert.equal(await finalWeights(run), expectedWeights(80))
    const resumed = attempts.flatMap((a) => (a.resumedFromStep === undefined ? [] : [a.resumedFromStep]))
    assert.ok(resumed.length > 0)
    assert.deepEqual(
      resumed,
      [...resumed].sort((a, b) => a - b),
    )
    assert.match(describeBatch(run, {}), /attempt 1: g5\.xlarge us-east-1a spot — Essential container in task exited/)
    // Where each attempt ran comes from the runtime's reading of the instance metadata.
    assert.deepEqual(
      attempts.map((a) => [a.instanceType, a.availabilityZone, a.lifecycle]),
      attempts.map((_, i) => {
        const h = HOSTS[i % HOSTS.length]
        return [h.instanceType, h.availabilityZone, h.lifecycle]
      }),
    )
  })

  test('reclaims with and without grace (host gone at once): the final weights equal an uninterrupted run', async () => {
    // Every other reclaim gives no notice: the host is gone at once (status reason "Host EC2 …").
    const s = await scenario(50, 4, 60, 6, 3, [200, 400], (reclaim) => reclaim % 2 === 0)
    const summary = JSON.stringify(s.run.attempts.map((a) => [a.exitCode, a.action, (a as BatchAttempt).statusReason, a.resumedFromStep]))
    assert.equal(s.run.state, 'succeeded', summary)
    const by = (cause: string) => s.run.attempts.filter((a) => (a as BatchAttempt).interruptedBy === cause).length
    assert.deepEqual([by('spot-notice'), by('spot-reclaim')], [3, 3], summary)
    const codes = s.run.attempts.slice(0, 6).map((a) => a.exitCode)
    assert.ok(codes.includes(137) && codes.includes(75), `exit codes ${codes}: SIGKILLed (137) and checkpointed (75) attempts`)
    assert.equal(await finalWeights(s.run), expectedWeights(50))
  })

  test('logs stream from CloudWatch across attempts', async () => {
    const chunks: Array<{attempt: number; text: string}> = []
    const run = await world.backend.streamLogs(graceful.run, world.runs, {follow: true, onChunk: (c) => chunks.push(c)})
    assert.equal(run.state, 'succeeded')
    const byAttempt = new Map<number, string>()
    for (const c of chunks) byAttempt.set(c.attempt, (byAttempt.get(c.attempt) ?? '') + c.text)
    assert.deepEqual([...byAttempt.keys()].sort(), [1, 2, 3, 4, 5, 6])
    assert.match(byAttempt.get(6) ?? '', /done at step 80/)
    assert.match(byAttempt.get(2) ?? '', /resumed at step|\[rfm\]/)
    // A second read of a finished run gives the same text: streams are read from the start.
    const again: string[] = []
    await world.backend.streamLogs(run, world.runs, {follow: false, attempt: 6, onChunk: (c) => again.push(c.text)})
    assert.equal(again.join(''), byAttempt.get(6))
  })

  test('cost per attempt at the spot price in force, total, time lost to interruptions, savings vs on-demand', async () => {
    const ec2 = mockClient(EC2Client)
    ec2.on(DescribeSpotPriceHistoryCommand).callsFake((input: {AvailabilityZone: string; InstanceTypes: string[]; StartTime: Date}) => ({
      SpotPriceHistory: [
        {
          AvailabilityZone: input.AvailabilityZone,
          InstanceType: input.InstanceTypes[0],
          ProductDescription: 'Linux/UNIX',
          SpotPrice: String(SPOT_PRICE[input.AvailabilityZone]),
          Timestamp: new Date(input.StartTime.getTime() - 3_600_000),
        },
      ],
    }))
    try {
      const run = await world.runs.get(graceful.run.id)
      const events = await world.runs.events(run.id)
      const cost = await runCost(run, events, new AwsPriceSource())
      const catalog = await loadCatalog()
      const onDemand = (type: string) => catalog.instances.find((i) => i.type === type)!.onDemand['us-east-1']
      let total = 0
      let onDemandTotal = 0
      for (const [i, a] of (run.attempts as BatchAttempt[]).entries()) {
        const row = cost.attempts[i]
        // Charged from the host's boot or the job's STARTING where rfm saw them, else the container's start.
        assert.ok(Date.parse(row.chargedFrom) <= Date.parse(a.startedAt) && row.overheadSeconds >= 0)
        const seconds = (Date.parse(a.endedAt!) - Date.parse(row.chargedFrom)) / 1000
        const price = a.lifecycle === 'spot' ? SPOT_PRICE[a.availabilityZone!] : onDemand(a.instanceType!)
        assert.equal(row.market, a.lifecycle)
        assert.ok(Math.abs((row.cost ?? NaN) - (price * seconds) / 3600) < 1e-5, `attempt ${i + 1}: ${row.cost} vs ${(price * seconds) / 3600}`)
        total += (price * seconds) / 3600
        onDemandTotal += (onDemand(a.instanceType!) * seconds) / 3600
        // Lost: from the attempt's last committed checkpoint to the reclaim.
        const commits = events.filter((e) => e.type === 'checkpoint_committed' && e.attempt === a.index).map((e) => Date.parse(e.time))
        const lost = a.action === 'retry' ? (Date.parse(a.endedAt!) - Math.max(Date.parse(a.startedAt), ...commits)) / 1000 : 0
        assert.ok(Math.abs(row.lostSeconds - lost) < 1e-3, `attempt ${i + 1}: lost ${row.lostSeconds} vs ${lost}`)
        assert.equal(row.interrupted, a.action === 'retry')
      }
      assert.ok(Math.abs((cost.totalCost ?? NaN) - total) < 1e-5)
      assert.ok(Math.abs((cost.onDemandCost ?? NaN) - onDemandTotal) < 1e-5)
      assert.ok((cost.savings ?? 0) > 0, 'spot attempts cost less than on-demand')
      assert.ok(Math.abs(cost.lostSeconds - cost.attempts.reduce((s, a) => s + a.lostSeconds, 0)) < 1e-3)
      const spotCalls = ec2.commandCalls(DescribeSpotPriceHistoryCommand).map((c) => c.args[0].input)
      assert.ok(spotCalls.every((c) => c.ProductDescriptions?.[0] === 'Linux/UNIX' && c.StartTime instanceof Date && c.EndTime instanceof Date))
      assertSchema('cloud-cost', {runs: [cost], total: costTotal([cost])})
    } finally {
      ec2.restore()
    }
  })
})

describe('aws-batch under spot reclaims with the store on s3rver', () => {
  let s3: S3rverHandle
  before(async () => {
    s3 = await startS3rver()
    // This process and every attempt reach s3rver with its keys (on AWS: the job role).
    Object.assign(process.env, s3.env)
    world = await batchWorld(s3)
    fake = await new FakeBatch({runtime: RUNTIME, hosts: HOSTS, graceMs: 5000, env: {RFM_CHECKPOINT_POLL_MS: '20', ...(s3.env as Record<string, string>)}}).start()
  })
  after(async () => {
    await fake.stop()
    await s3.stop()
  })

  test('reclaims with the spot notice: each attempt resumes from the checkpoint committed to S3, zero steps recomputed', async () => {
    const s = await scenario(40, 10, 40, 3, 5, [250, 450], () => true)
    assert.ok(world.profile.store.startsWith('s3://'))
    const attempts = s.run.attempts as BatchAttempt[]
    // An attempt that failed on its own (a store error on an overloaded machine) is retried too;
    // its log tail goes in the message so such a failure can be told apart.
    const crashed = attempts.filter((a) => a.action === 'retry' && a.interruptedBy !== 'spot-notice')
    const why = JSON.stringify(crashed.map((a) => [a.exitCode, (fake.streams.get(a.logStream ?? '') ?? []).slice(-5).map((e) => e.message)]))
    assert.equal(s.run.state, 'succeeded', why)
    // Three reclaims; on an overloaded machine one may outlive the 5 s grace and be killed (137):
    // it counts as a reclaim that crashed, and then steps may run twice (checked below only without).
    const noticed = attempts.filter((a) => a.exitCode === 75 && a.interruptedBy === 'spot-notice' && a.action === 'retry').length
    assert.equal(noticed + crashed.length, 3, why)
    assert.ok(noticed >= 2, `most reclaims end with a checkpoint and exit 75: ${why}`)
    if (crashed.length === 0)
      assert.deepEqual(
        stepsRun(s),
        Array.from({length: 40}, (_, i) => i + 1),
        'each step ran exactly once',
      )
    assert.equal(await finalWeights(s.run), expectedWeights(40))
  })
})

describe('cost report pieces', () => {
  test('the spot price in force steps at each history point', () => {
    const t0 = Date.parse('2026-11-01T00:00:00Z')
    const hour = 3_600_000
    // In force before the attempt at $1/h, then $2/h from half an hour in.
    const history = [
      {time: t0 - hour, price: 1},
      {time: t0 + hour / 2, price: 2},
    ]
    assert.equal(integrate(history, t0, t0 + hour), 0.5 * 1 + 0.5 * 2)
    assert.equal(integrate([...history].reverse(), t0, t0 + hour), 1.5)
    assert.equal(integrate(history, t0 + hour / 2, t0 + hour), 1)
    assert.equal(integrate([], t0, t0 + hour), undefined)
  })

  test('an attempt with no host metadata is listed with a note, not priced', async () => {
    const run = {
      id: 'command-20261122-000000-abcd',
      kind: 'command',
      state: 'failed',
      backend: {name: 'aws-batch'},
      attempts: [{index: 1, startedAt: '2026-11-01T00:00:00Z', endedAt: '2026-11-01T01:00:00Z', action: 'exit'}],
    } as unknown as RunRecord
    const cost = await runCost(run, [], {spotHistory: async () => [], onDemandPrice: async () => 1})
    assert.equal(cost.attempts[0].cost, null)
    assert.match(cost.attempts[0].note ?? '', /instance type or zone unknown/)
    assert.match(cost.note ?? '', /could not be priced/)
  })

  test('rfm cloud cost on the local backend: not applicable, with a note', async () => {
    const home = tempHome()
    const file = path.join(home, 'job.yaml')
    require('node:fs').writeFileSync(file, `command: [${JSON.stringify(process.execPath)}, -e, "0"]\n`)
    const launched = await rfmJson(['cloud', 'launch', 'command', '-c', file, '--follow'], {home})
    assert.equal(launched.code, 0)
    const {code, json} = await rfmJson(['cloud', 'cost', launched.json.run.id], {home})
    assert.equal(code, 0)
    assertSchema('cloud-cost', json)
    assert.equal(json.runs[0].applicable, false)
    assert.match(json.runs[0].note, /no cloud cost/)
    const all = await rfmJson(['cloud', 'cost'], {home})
    assertSchema('cloud-cost', all.json)
    assert.equal(all.json.runs.length, 1)
  })
})
