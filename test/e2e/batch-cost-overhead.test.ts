/**
 * The image pull before a container starts is charged to its attempt (issue #21 item 4), end to end
 * on the Batch emulator: the job sits in STARTING (held, as during a long pull), rfm's sync sees it
 * there, then the container runs. Batch's DescribeJobs dates no STARTING (its startedAt is "when the
 * attempt transitioned from the STARTING state to the RUNNING state", epoch milliseconds), so the
 * extra seconds come from rfm's own observation and are labelled "observed".
 */
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'

import type {JobDetail} from '@aws-sdk/client-batch'

import type {BatchAttempt, StartingSeen} from '../../src/backends/aws-batch/sync'
import {costTotal, runCost} from '../../src/cost/report'
import {waitFor} from '../helpers/cli'
import {batchWorld, FakeBatch, RUNTIME, type BatchWorld} from '../helpers/fake-batch'
import {assertSchema} from '../helpers/schema'

describe('cost on the Batch emulator: the STARTING before the container is charged', () => {
  let world: BatchWorld
  let fake: FakeBatch
  before(async () => {
    world = await batchWorld()
    fake = await new FakeBatch({
      runtime: RUNTIME,
      graceMs: 3000,
      holdStarting: true,
      hosts: [{instanceType: 'g5.xlarge', availabilityZone: 'us-east-1a', lifecycle: 'on-demand'}],
      env: {RFM_CHECKPOINT_POLL_MS: '20'},
    }).start()
  })
  after(() => fake.stop())

  test('a job rfm saw STARTING is charged from then, at the attempt price, shown apart as overhead', async () => {
    const file = world.config([`command: [${JSON.stringify(process.execPath)}, -e, "0"]`])
    const run = await world.launch(file)
    const jobId = (await world.runs.get(run.id)).backend.jobId as string
    await waitFor('the job to be placed', () => (fake.job(jobId).status === 'STARTING' ? true : undefined))
    const starting = (fake.describeJobs({jobs: [jobId]}) as {jobs: JobDetail[]}).jobs[0]
    assert.equal(typeof starting.createdAt, 'number', 'DescribeJobs dates in epoch milliseconds')
    assert.equal(starting.startedAt, undefined, 'no time for STARTING')
    const seen = await world.backend.refresh(await world.runs.get(run.id), world.runs)
    const seenAt = (seen.backend.startingSeen as StartingSeen)['-:1']
    assert.ok(seenAt, 'rfm recorded when it saw attempt 1 STARTING')
    assert.equal(seen.attempts.length, 0, 'no container yet')
    fake.releaseStarting()
    const final = await world.finish(seen)
    assert.equal(final.state, 'succeeded')
    const [attempt] = final.attempts as BatchAttempt[]
    const batchStartedAt = fake.job(jobId).attempts[0].startedAt!
    assert.equal(Date.parse(attempt.startedAt), batchStartedAt)
    assert.ok(batchStartedAt > Date.parse(seenAt))
    const cost = await runCost(final, await world.runs.events(run.id), {spotHistory: async () => [], onDemandPrice: async () => 36})
    const [row] = cost.attempts
    assert.equal(row.market, 'on-demand')
    assert.equal(row.chargedFrom, seenAt)
    assert.equal(row.chargedFromSource, 'observed')
    assert.equal(row.overheadSeconds, (batchStartedAt - Date.parse(seenAt)) / 1000)
    assert.ok(Math.abs((row.overheadCost ?? NaN) - row.overheadSeconds / 100) < 1e-6, '$36/h = $0.01/s')
    assert.ok(Math.abs((row.cost ?? NaN) - (row.seconds + row.overheadSeconds) / 100) < 1e-6)
    assertSchema('cloud-cost', {runs: [cost], total: costTotal([cost])})
  })
})
