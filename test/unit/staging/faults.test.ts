/**
 * Staging and pulling through a proxy that drops connections, answers 500/503 and cuts responses
 * off: staging still completes, and every pulled byte verifies.
 */
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {after, before, test} from 'node:test'

import {pullDataset, readManifest, stageTree} from '../../../src/staging'
import {S3Store} from '../../../src/store/s3-store'
import {startFaultProxy, type FaultProxy} from '../../helpers/fault-proxy'
import {S3RVER_CREDENTIALS, startS3rver, type S3rverHandle} from '../../helpers/s3rver'

// RFM_FAULT_SEED replays another fault pattern.
const scratch = mkdtempSync(path.join(os.tmpdir(), 'rfm-faults-test-'))
process.env.RFM_HOME = path.join(scratch, 'home')
let s3: S3rverHandle
let proxy: FaultProxy
before(async () => {
  s3 = await startS3rver()
  proxy = await startFaultProxy({target: s3.endpoint, seed: Number(process.env.RFM_FAULT_SEED ?? 20261122), faultRate: 0.2, maxFaults: 80})
})
after(async () => {
  await proxy.stop()
  await s3.stop()
  rmSync(scratch, {recursive: true, force: true})
})

function sha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

test('staging completes and pulls verify while the network misbehaves', async () => {
  const tree = path.join(scratch, 'tree')
  for (let i = 0; i < 90; i++) {
    mkdirSync(path.join(tree, `shard-${i % 6}`), {recursive: true})
    writeFileSync(path.join(tree, `shard-${i % 6}`, `sample-${i}.npz`), randomBytes(4096 + i * 97))
  }
  writeFileSync(path.join(tree, 'big.bin'), randomBytes(17 * 1024 * 1024 + 5))
  // Few SDK attempts, so some faults get past the SDK and exercise rfm's per-file retry too.
  const store = await S3Store.open(`s3://${s3.bucket}/faulty`, {
    endpoint: proxy.endpoint,
    credentials: S3RVER_CREDENTIALS,
    maxAttempts: 2,
    pageSize: 40,
    multipartThreshold: 1024 * 1024,
    partSize: 5 * 1024 * 1024,
  })
  const retries: string[] = []
  const retry = {attempts: 10, baseMs: 5, maxMs: 50, onRetry: (error: unknown) => retries.push((error as Error).message)}

  const staged = await stageTree(store, tree, {name: 'faulty', retry})
  assert.equal(staged.files, 91)
  const manifest = await readManifest(await S3Store.open(`s3://${s3.bucket}/faulty`, {endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS}), staged.hash)
  assert.equal(manifest.files.length, 91)

  const out = path.join(scratch, 'out')
  const pulled = await pullDataset(store, staged.ref, out, {retry})
  assert.equal(pulled.downloadedFiles, 91)
  for (const file of manifest.files) assert.equal(sha(path.join(out, file.path)), file.sha256, file.path)
  for (const file of manifest.files) assert.equal(sha(path.join(out, file.path)), sha(path.join(tree, file.path)))

  const injected = Object.values(proxy.stats.faults).reduce((a, b) => a + b, 0)
  assert.ok(injected >= 10, `the proxy injected faults (${JSON.stringify(proxy.stats)})`)
  assert.ok(retries.length > 0, "some faults reached rfm's own retry")
})
