/**
 * Honest cost, boot and image pull (issue #21 item 4): an attempt is charged from when its instance
 * started costing it, not from its container's start. Batch dates only the container: DescribeJobs'
 * JobDetail/AttemptDetail `startedAt` is "when the attempt transitioned from the STARTING state to the
 * RUNNING state", `stoppedAt` "from the RUNNING state to a terminal state", `createdAt` when SubmitJob
 * was called, all "Unix timestamp (in milliseconds)" numbers (API reference). The STARTING before it
 * (image pull) and the host's boot come from what rfm observes; each window says where it came from.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import type {JobDetail} from '@aws-sdk/client-batch'

import {mergeJob} from '../../../src/backends/aws-batch/sync'
import {chargedStart, costTotal, runCost, type PriceSource} from '../../../src/cost/report'
import type {RunEvent, RunRecord} from '../../../src/runs/record'
import {hostBootedAt} from '../../../src/runtime/host-metadata'
import {shippedCatalog} from '../../../src/scheduler/catalog'
import {assertSchema} from '../../helpers/schema'

const T0 = Date.parse('2099-03-01T10:00:00Z')
const s = (seconds: number) => T0 + seconds * 1000

const onDemand: PriceSource = {spotHistory: async () => [], onDemandPrice: async () => 16}

function record(): RunRecord {
  return {
    id: 'command-20990301-100000-0000beef',
    kind: 'command',
    state: 'queued',
    createdAt: new Date(s(-60)).toISOString(),
    backend: {name: 'aws-batch', jobId: 'job-1', request: {queue: 'on-demand'}},
    attempts: [],
  } as unknown as RunRecord
}

/** DescribeJobs' JobDetail as Batch returns it: epoch-millisecond numbers. */
function detail(fields: Partial<JobDetail>): JobDetail {
  return {jobId: 'job-1', jobName: 'command-20990301-100000-0000beef', jobQueue: 'q', jobDefinition: 'd', createdAt: s(-60), ...fields} as JobDetail
}

const host = (attempt: number, extra: Record<string, unknown> = {}): RunEvent =>
  ({type: 'host', time: new Date(s(90)).toISOString(), attempt, instanceType: 'g5.xlarge', availabilityZone: 'us-east-1a', lifecycle: 'on-demand', ...extra}) as unknown as RunEvent

test('an attempt whose job was STARTING for 90 s before its container started is charged those 90 s, labelled observed', async () => {
  const run = record()
  // rfm's sync sees the job STARTING at T0: Batch has no startedAt for it yet.
  mergeJob(run, detail({status: 'STARTING'}), [], [], s(0))
  assert.equal(run.attempts.length, 0, 'no container has started')
  // The container runs from T0+90 s to T0+3690 s.
  const finished = detail({status: 'SUCCEEDED', startedAt: s(90), stoppedAt: s(3690), attempts: [{startedAt: s(90), stoppedAt: s(3690), container: {exitCode: 0}}]})
  mergeJob(run, finished, [host(1)], [], s(4000))
  const cost = await runCost(run, [], onDemand)
  const [a] = cost.attempts
  assert.equal(a.seconds, 3600)
  assert.equal(a.overheadSeconds, 90)
  assert.equal(a.chargedFrom, new Date(s(0)).toISOString())
  assert.equal(a.chargedFromSource, 'observed')
  assert.match(a.chargedFromBasis, /STARTING/)
  assert.equal(a.overheadCost, 0.4, '$16/h for 90 s')
  assert.equal(a.cost, (16 * 3690) / 3600)
  assert.equal(a.onDemandCost, a.cost)
  assert.equal(cost.overheadSeconds, 90)
  assert.equal(cost.overheadCost, 0.4)
  assertSchema('cloud-cost', {runs: [cost], total: costTotal([cost])})
})

test('the observation survives later syncs; a second sighting in STARTING does not move it', () => {
  const run = record()
  mergeJob(run, detail({status: 'STARTING'}), [], [], s(10))
  mergeJob(run, detail({status: 'STARTING'}), [], [], s(50))
  mergeJob(run, detail({status: 'RUNNING', startedAt: s(90)}), [], [], s(100))
  assert.equal((run.attempts[0] as {startingSeenAt?: string}).startingSeenAt, new Date(s(10)).toISOString())
  assert.equal((run.attempts[0] as {runnableSince?: string}).runnableSince, new Date(s(-60)).toISOString(), "Batch's createdAt")
})

test("a retry in STARTING is not listed with the previous attempt's startedAt; its window starts no earlier than that attempt's stop", async () => {
  const run = record()
  const first = {startedAt: s(0), stoppedAt: s(600), statusReason: 'Host EC2 (instance i-1) terminated.', container: {exitCode: 137}}
  // JobDetail.startedAt still holds attempt 1's (it marks STARTING → RUNNING).
  mergeJob(run, detail({status: 'STARTING', startedAt: s(0), attempts: [first]}), [], [], s(700))
  assert.deepEqual(
    run.attempts.map((a) => a.index),
    [1],
  )
  const second = {startedAt: s(760), stoppedAt: s(1360), container: {exitCode: 0}}
  mergeJob(run, detail({status: 'SUCCEEDED', startedAt: s(760), stoppedAt: s(1360), attempts: [first, second]}), [host(1), host(2)], [], s(2000))
  const cost = await runCost(run, [], onDemand)
  assert.equal(cost.attempts[1].overheadSeconds, 60, 'seen STARTING at +700 s, container at +760 s')
  assert.equal(cost.attempts[1].chargedFromSource, 'observed')
  // An observation before the attempt could be placed is clamped to Batch's time.
  const early = chargedStart({index: 2, startedAt: new Date(s(760)).toISOString(), runnableSince: new Date(s(600)).toISOString(), startingSeenAt: new Date(s(500)).toISOString()})
  assert.deepEqual([early.time, early.source], [s(600), 'batch'])
  assert.match(early.basis, /previous attempt stopped/)
})

test('a host that booted for the attempt is charged from its boot; one already up (reused) is not', () => {
  const base = {index: 1, startedAt: new Date(s(90)).toISOString(), runnableSince: new Date(s(-60)).toISOString()}
  const fresh = chargedStart({...base, hostBootedAt: new Date(s(-30)).toISOString(), startingSeenAt: new Date(s(40)).toISOString()}, 150)
  assert.deepEqual([fresh.time, fresh.source], [s(-30), 'observed'])
  assert.match(fresh.basis, /host booted/)
  const reused = chargedStart({...base, hostBootedAt: new Date(s(-86_400)).toISOString()}, 150)
  assert.deepEqual([reused.time, reused.source], [s(90), 'batch'], 'no boot and no estimate on a host that was already up')
  assert.match(reused.basis, /already up/)
  const reusedSeen = chargedStart({...base, hostBootedAt: new Date(s(-86_400)).toISOString(), startingSeenAt: new Date(s(70)).toISOString()}, 150)
  assert.deepEqual([reusedSeen.time, reusedSeen.source], [s(70), 'observed'], 'the image pull still counts')
})

test("nothing observed: the catalog's estimate, labelled estimated, clamped to when the attempt became runnable", async () => {
  const estimated = chargedStart({index: 1, startedAt: new Date(s(900)).toISOString(), runnableSince: new Date(s(0)).toISOString()}, 150)
  assert.deepEqual([estimated.time, estimated.source], [s(750), 'estimated'])
  const clamped = chargedStart({index: 1, startedAt: new Date(s(60)).toISOString(), runnableSince: new Date(s(0)).toISOString()}, 150)
  assert.deepEqual([clamped.time, clamped.source], [s(0), 'batch'])
  assert.match(clamped.basis, /createdAt/)
  const none = chargedStart({index: 1, startedAt: new Date(s(60)).toISOString()})
  assert.deepEqual([none.time, none.source], [s(60), 'batch'])
  const catalog = shippedCatalog()
  assert.ok(catalog.startupSeconds && catalog.startupSeconds > 0, 'the shipped catalog carries the estimate')
  // Through runCost with a spot market: the overhead is priced at the spot price in force then.
  const run = {
    ...record(),
    state: 'succeeded',
    backend: {name: 'aws-batch', request: {queue: 'spot'}},
    attempts: [
      {
        index: 1,
        startedAt: new Date(s(900)).toISOString(),
        endedAt: new Date(s(4500)).toISOString(),
        runnableSince: new Date(s(0)).toISOString(),
        action: 'exit',
        instanceType: 'g5.xlarge',
        availabilityZone: 'us-east-1a',
        lifecycle: 'spot',
      },
    ],
  } as unknown as RunRecord
  const spot: PriceSource = {
    spotHistory: async (_type, _zone, start) => {
      assert.equal(start.getTime(), s(750), 'history read from the charged start')
      return [
        {time: s(-3600), price: 2},
        {time: s(900), price: 4},
      ]
    },
    onDemandPrice: async () => 10,
    startupSeconds: async () => 150,
  }
  const cost = await runCost(run, [], spot)
  const [a] = cost.attempts
  assert.equal(a.chargedFromSource, 'estimated')
  assert.equal(a.overheadSeconds, 150)
  assert.equal(a.overheadCost, Math.round(((2 * 150) / 3600) * 1e6) / 1e6, 'the $2/h in force before the container started')
  assert.equal(a.cost, Math.round(((2 * 150 + 4 * 3600) / 3600) * 1e6) / 1e6)
})

test("the runtime reads the host's boot time from its uptime", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-uptime-'))
  const file = path.join(dir, 'uptime')
  writeFileSync(file, '350.25 1200.50\n')
  assert.equal(await hostBootedAt(s(0), file), new Date(s(-350.25)).toISOString())
  assert.equal(await hostBootedAt(s(0), path.join(dir, 'missing')), undefined)
  writeFileSync(file, 'garbage')
  assert.equal(await hostBootedAt(s(0), file), undefined)
})
