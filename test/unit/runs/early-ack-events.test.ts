/**
 * A run's events on S3 survive an S3-compatible server that answers a PUT before a read can see it,
 * and a PUT whose answer is lost (test/helpers/early-ack-proxy.ts makes both happen every time).
 * Seen under load on s3rver: one writer's segment read back empty right after an answered PUT, its
 * next append wrote just its own line over it, and 33 of its 50 events were gone for good
 * (8 writers × 50: 367 of 400, the same 367 read again 1.5 s later). The writer now appends from the
 * bytes it last wrote and never reads its segment back. A retried append (the outage layer retries a
 * whole append whose answer was lost) used to read the line it had already written and add it again.
 */
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'

import {RunStore} from '../../../src/runs/run-store'
import {OutageTolerantStore} from '../../../src/store/outage'
import {S3Store} from '../../../src/store/s3-store'
import {startEarlyAckProxy} from '../../helpers/early-ack-proxy'
import {S3RVER_CREDENTIALS, startS3rver, type S3rverHandle} from '../../helpers/s3rver'
import {s3rverSettled} from '../../helpers/s3rver-settled'

let s3: S3rverHandle
before(async () => {
  s3 = await startS3rver()
})
after(async () => {
  await s3.stop()
})

const RUN = 'command-20990101-000000-0000ac4e'
const open = (prefix: string, endpoint: string, maxAttempts?: number) => S3Store.open(`s3://${s3.bucket}/${prefix}`, {endpoint, credentials: S3RVER_CREDENTIALS, ...(maxAttempts ? {maxAttempts} : {})})

/** Reads straight from s3rver (not through the proxy), once it has written every answered PUT. */
async function readBack(prefix: string) {
  const reader = await open(prefix, s3.endpoint)
  await s3rverSettled(reader, RunStore.runKey(RUN, 'events/'))
  return new RunStore(reader).events(RUN)
}

test('every answered event survives a server that answers PUTs before a read can see them', {timeout: 60_000}, async () => {
  const proxy = await startEarlyAckProxy({target: s3.endpoint, holdPuts: true})
  try {
    const writers = await Promise.all(Array.from({length: 4}, async () => new RunStore(await open('early-ack', proxy.endpoint))))
    await Promise.all(
      writers.map(async (runs, w) => {
        for (let i = 0; i < 20; i++) await runs.appendEvent(RUN, {type: 'step', time: new Date().toISOString(), writer: w, i})
      }),
    )
    await proxy.flush()
    assert.equal(proxy.stats.heldPuts, 80, 'every PUT was answered before s3rver had it')
    const events = await readBack('early-ack')
    for (let w = 0; w < 4; w++) {
      assert.deepEqual(
        events.filter((e) => e.writer === w).map((e) => e.i),
        Array.from({length: 20}, (_, i) => i),
        `writer ${w}: all 20, in order`,
      )
    }
    assert.equal(events.length, 80)
  } finally {
    await proxy.stop()
  }
})

test('an append retried after its answer was lost writes its event once', {timeout: 60_000}, async () => {
  // PUT 2 (the second event) is applied by s3rver but its answer is cut off; with one SDK attempt the
  // failure reaches the outage layer, which retries the whole append, as in a network blip.
  const proxy = await startEarlyAckProxy({target: s3.endpoint, loseAnswerOfPut: [2]})
  try {
    const store = new OutageTolerantStore(await open('lost-answer', proxy.endpoint, 1), {maxOutageMs: 30_000, initialDelayMs: 10, maxDelayMs: 50})
    const runs = new RunStore(store)
    for (let i = 0; i < 3; i++) await runs.appendEvent(RUN, {type: 'step', time: new Date().toISOString(), i})
    assert.equal(proxy.stats.lostAnswers, 1)
    const events = await readBack('lost-answer')
    assert.deepEqual(
      events.map((e) => e.i),
      [0, 1, 2],
    )
  } finally {
    await proxy.stop()
  }
})
