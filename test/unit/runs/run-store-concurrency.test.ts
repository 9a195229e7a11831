/**
 * A run's event log with many writers (issue #21 item 3): on S3 `append` is a read-modify-write, so
 * two processes appending to one object drop each other's events (5-7 of 50 on s3rver before this
 * fix). Each writer now keeps its own segment; 8 writers × 50 events must read back as 400 of 400,
 * each writer's events in its own order. Each writer has its own S3 client, as separate processes do.
 * Run ids (#19 D20): 100 launches in one second never collide, and creating a run record never
 * replaces another run's record, on s3rver (which ignores If-None-Match) and the file store.
 */
import assert from 'node:assert/strict'
import * as path from 'node:path'
import {test} from 'node:test'

import type {RunRecord} from '../../../src/runs/record'
import {newRunId} from '../../../src/runs/run-id'
import {RunStore} from '../../../src/runs/run-store'
import {FileStore} from '../../../src/store/file-store'
import {S3Store} from '../../../src/store/s3-store'
import type {ObjectStore} from '../../../src/store/types'
import {S3RVER_CREDENTIALS} from '../../helpers/s3rver'
import {s3rverSettled} from '../../helpers/s3rver-settled'
import {scratchAndS3rver} from '../../helpers/scratch-stores'

const {scratch, s3} = scratchAndS3rver('rfm-events-test-')

const RUN = 'command-20990101-000000-abcd'

async function eightWriters(open: () => Promise<ObjectStore>, beforeRead?: (reader: ObjectStore) => Promise<void>): Promise<void> {
  const writers = await Promise.all(Array.from({length: 8}, async () => new RunStore(await open())))
  await Promise.all(
    writers.map(async (runs, w) => {
      for (let i = 0; i < 50; i++) await runs.appendEvent(RUN, {type: 'step', time: new Date().toISOString(), writer: w, i})
    }),
  )
  const reader = await open()
  await beforeRead?.(reader)
  const events = await new RunStore(reader).events(RUN)
  assert.equal(events.length, 400)
  for (let w = 0; w < 8; w++) {
    assert.deepEqual(
      events.filter((e) => e.writer === w).map((e) => e.i),
      Array.from({length: 50}, (_, i) => i),
      `writer ${w} in order`,
    )
  }
  for (let k = 1; k < events.length; k++) assert.ok(String(events[k - 1].time) <= String(events[k].time), 'merged in time order')
}

test('8 writers × 50 events on s3rver: 400 of 400, in order', {timeout: 60_000}, async () => {
  // The read waits for s3rver to finish writing the last PUTs it already answered (real S3 needs no
  // wait); the writers' own appends never read back (early-ack-events.test.ts proves they need not).
  await eightWriters(
    () => S3Store.open(`s3://${s3.bucket}/events`, {endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS}),
    (reader) => s3rverSettled(reader as S3Store, RunStore.runKey(RUN, 'events/')).then(() => {}),
  )
})

test('8 writers × 50 events on the file store: 400 of 400, in order', async () => {
  const root = path.join(scratch, 'store')
  await eightWriters(async () => new FileStore(root))
})

test('100 run ids drawn in the same second are distinct', () => {
  const now = new Date('2026-12-04T12:00:00Z')
  const ids = new Set(Array.from({length: 100}, () => newRunId('sft', now)))
  assert.equal(ids.size, 100)
  assert.match([...ids][0], /^sft-20261204-120000-[0-9a-f]{8}$/)
})

async function createNeverOverwrites(store: ObjectStore): Promise<void> {
  const runs = new RunStore(store)
  const record = (name: string): RunRecord =>
    ({
      schemaVersion: 1,
      id: 'command-20990101-000000-0000beef',
      kind: 'command',
      name,
      state: 'queued',
      createdAt: '2099-01-01T00:00:00.000Z',
      updatedAt: '2099-01-01T00:00:00.000Z',
      attempts: [],
    }) as unknown as RunRecord
  const first = record('first')
  await runs.create(first)
  const second = record('second')
  await runs.create(second)
  assert.equal(first.id, 'command-20990101-000000-0000beef')
  assert.notEqual(second.id, first.id, 'the second launch got a fresh id')
  assert.equal((await runs.get(first.id)).name, 'first', 'the first record is intact')
  assert.equal((await runs.get(second.id)).name, 'second')
}

test('creating a run record never replaces another run (s3rver, which ignores If-None-Match)', async () => {
  await createNeverOverwrites(await S3Store.open(`s3://${s3.bucket}/create`, {endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS}))
})

test('creating a run record never replaces another run (file store, link(2))', async () => {
  await createNeverOverwrites(new FileStore(path.join(scratch, 'create')))
})
