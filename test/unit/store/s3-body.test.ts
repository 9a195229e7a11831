/**
 * GetObject bodies that break off or stall after their headers: the SDK's retries are over by then
 * (aws-sdk-js-v3 #4897, #8098), so S3Store retries whole reads itself and gives up on a silent body
 * instead of hanging. The faults come from a proxy in front of s3rver that cuts real responses.
 */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {after, before, test} from 'node:test'

import {BackendError} from '../../../src/errors'
import {OutageTolerantStore} from '../../../src/store/outage'
import {S3Store, type S3StoreOptions} from '../../../src/store/s3-store'
import {startFaultProxy, type FaultKind, type FaultProxy} from '../../helpers/fault-proxy'
import {S3RVER_CREDENTIALS, startS3rver, type S3rverHandle} from '../../helpers/s3rver'

let s3: S3rverHandle
let direct: S3Store
const scratch = mkdtempSync(path.join(os.tmpdir(), 'rfm-s3-body-'))
const proxies: FaultProxy[] = []
// larger than one socket read, so half a body is a real partial transfer
const data = randomBytes(300_000)

before(async () => {
  s3 = await startS3rver()
  direct = await S3Store.open(`s3://${s3.bucket}/body`, {endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS})
  await direct.put('blob', data)
})
after(async () => {
  for (const proxy of proxies) await proxy.stop()
  await s3.stop()
  rmSync(scratch, {recursive: true, force: true})
})

/** A store whose GETs go through a proxy that gives the first `faults` of them `kind`. */
async function faulty(kind: FaultKind, faults: number, options: S3StoreOptions = {}): Promise<{store: S3Store; proxy: FaultProxy}> {
  const proxy = await startFaultProxy({target: s3.endpoint, seed: 1, faultRate: 1, maxFaults: faults, kinds: [kind], method: 'GET'})
  proxies.push(proxy)
  const store = await S3Store.open(`s3://${s3.bucket}/body`, {endpoint: proxy.endpoint, credentials: S3RVER_CREDENTIALS, ...options})
  return {store, proxy}
}

test('a body cut off halfway is read again whole (get and getFrom)', async () => {
  const {store, proxy} = await faulty('truncate', 2)
  assert.ok((await store.get('blob'))!.equals(data))
  assert.equal(proxy.stats.faults.truncate, 2, 'cut twice, then read whole')
  const {store: ranged, proxy: rangedProxy} = await faulty('truncate', 1)
  assert.ok((await ranged.getFrom('blob', 1000))!.equals(data.subarray(1000)))
  assert.equal(rangedProxy.stats.faults.truncate, 1)
})

test('a body that stalls is given up after the idle timeout and read again', async () => {
  const {store, proxy} = await faulty('stall', 1, {bodyIdleTimeoutMs: 300})
  assert.ok((await store.get('blob'))!.equals(data))
  assert.equal(proxy.stats.faults.stall, 1)
})

test('a body that always stalls fails with a retryable error naming the object, not a hang', async () => {
  const {store, proxy} = await faulty('stall', 1000, {bodyIdleTimeoutMs: 200})
  await assert.rejects(store.get('blob'), (error: BackendError) => {
    assert.ok(error instanceof BackendError)
    assert.match(error.message, /s3:\/\/rfm-test\/body\/blob: the object's body sent nothing for 0\.2s/)
    assert.equal(error.details?.retryable, true)
    return true
  })
  assert.equal(proxy.stats.faults.stall, 5, 'one read and four retries')
})

test('a streamed download that stalls fails without leaving a partial file; an outage-tolerant store retries it', async () => {
  const {store} = await faulty('stall', 1, {bodyIdleTimeoutMs: 300})
  const dir = mkdtempSync(path.join(scratch, 'dl-'))
  const file = path.join(dir, 'blob')
  await assert.rejects(store.downloadFile('blob', file), /sent nothing/)
  assert.deepEqual(readdirSync(dir), [], 'no partial file is left')

  const {store: again, proxy} = await faulty('stall', 1, {bodyIdleTimeoutMs: 300})
  const tolerant = new OutageTolerantStore(again, {maxOutageMs: 30_000, initialDelayMs: 50, maxDelayMs: 200})
  const done = await tolerant.downloadFile!('blob', file)
  assert.equal(done?.size, data.length)
  assert.ok(existsSync(file) && readFileSync(file).equals(data))
  assert.equal(proxy.stats.faults.stall, 1)
})
