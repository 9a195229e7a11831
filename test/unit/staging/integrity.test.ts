/**
 * Dataset integrity (issue #19 D7, D8, D18, and D1 for staging):
 * - `data stage --full` verifies stored content and repairs a damaged object of the right size;
 * - gc deletes no object while a stage is in progress (lease), and a stage re-sends an object that
 *   vanished before it writes its manifest;
 * - gc removes the temp files of killed writes and stale leases;
 * - a stage rides out a 4 s outage of s3rver.
 */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {test} from 'node:test'

import {collectGarbage, pullDataset, stageTree} from '../../../src/staging'
import {objectKey} from '../../../src/staging/layout'
import {LEASES_PREFIX} from '../../../src/staging/lease'
import {FileStore} from '../../../src/store/file-store'
import {S3Store} from '../../../src/store/s3-store'
import type {ObjectStore} from '../../../src/store/types'
import {S3RVER_CREDENTIALS} from '../../helpers/s3rver'
import {scratchAndS3rver} from '../../helpers/scratch-stores'

const {scratch, s3} = scratchAndS3rver('rfm-integrity-test-')
process.env.RFM_HOME = path.join(scratch, 'home')
process.env.RFM_STORE_RETRY_MAX_DELAY_MS = '500'

function tree(name: string, files: number, size = 1000): string {
  const dir = path.join(scratch, name)
  mkdirSync(dir, {recursive: true})
  for (let i = 0; i < files; i++) writeFileSync(path.join(dir, `f${String(i).padStart(4, '0')}.bin`), Buffer.alloc(size, `${name}-${i}-`))
  return dir
}

const hashOf = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')

test('stage --full repairs an object damaged in place with the same size', async () => {
  const store = new FileStore(path.join(scratch, 'store-d7'))
  const source = tree('d7', 3)
  const staged = await stageTree(store, source, {name: 'd7'})
  writeFileSync(store.pathOf(objectKey(hashOf(path.join(source, 'f0000.bin')))), Buffer.alloc(1000, 'X'))
  await assert.rejects(pullDataset(store, staged.ref, path.join(scratch, 'pull-d7a')), /Integrity check failed[\s\S]*/)
  await assert.rejects(pullDataset(store, staged.ref, path.join(scratch, 'pull-d7b')), (error: Error & {hint?: string}) => /--full/.test(error.hint ?? ''))
  const repaired = await stageTree(store, source, {name: 'd7', full: true})
  assert.equal(repaired.uploadedFiles, 1)
  const pulled = await pullDataset(store, staged.ref, path.join(scratch, 'pull-d7c'))
  assert.equal(pulled.files, 3)
})

// D7: an object overwritten in place with other bytes of the same size no longer carries the version
// (file store: size and mtime; S3: ETag) recorded when it was verified, so a plain re-stage reads it,
// finds it damaged and sends it again; the untouched objects are trusted without being read.
for (const kind of ['file', 's3'] as const) {
  test(`a plain re-stage repairs an object damaged with same-size bytes (${kind} store)`, async () => {
    const store: ObjectStore =
      kind === 'file' ? new FileStore(path.join(scratch, 'store-d7-plain')) : await S3Store.open('s3://rfm-test/d7-plain', {endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS})
    const source = tree(`d7-plain-${kind}`, 80)
    const staged = await stageTree(store, source, {name: 'd7p'})
    const key = objectKey(hashOf(path.join(source, 'f0007.bin')))
    await store.put(key, Buffer.alloc(1000, 'X'))
    await assert.rejects(pullDataset(store, staged.ref, path.join(scratch, `pull-d7p-${kind}-a`)), /Integrity check failed/)
    let reads = 0
    const counting: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
      getStream: async (k: string) => (reads++, store.getStream!(k)),
      get: async (k: string) => (k.startsWith('objects/') && reads++, store.get(k)),
    })
    const again = await stageTree(counting, source, {name: 'd7p'})
    assert.equal(again.uploadedFiles, 1, 'the damaged object is sent again')
    assert.equal(reads, 1, 'only the object whose version changed is read back')
    const pulled = await pullDataset(store, staged.ref, path.join(scratch, `pull-d7p-${kind}-b`))
    assert.equal(pulled.files, 80)
    assert.equal((await stageTree(store, source, {name: 'd7p'})).uploadedFiles, 0, 'and then trusted again')
  })
}

test('gc during a stage deletes nothing the stage relies on; a vanished object is sent again before the manifest', async () => {
  const inner = new FileStore(path.join(scratch, 'store-d8'))
  const source = tree('d8', 40)
  let uploads = 0
  let gcResult: Awaited<ReturnType<typeof collectGarbage>> | undefined
  // After the 20th upload: `gc --min-age 0` runs, and one uploaded object disappears outside rfm.
  const store: ObjectStore = Object.assign(Object.create(inner) as FileStore, {
    put: async (key: string, body: Buffer) => {
      await inner.put(key, body)
      if (key.startsWith('objects/') && ++uploads === 20) {
        gcResult = await collectGarbage(inner, {minAgeMs: 0})
        await inner.delete(key)
      }
    },
  })
  const staged = await stageTree(store, source, {name: 'd8', concurrency: 1})
  assert.equal(gcResult?.stagingInProgress, 1)
  assert.equal(gcResult?.deleted, 0)
  assert.ok((gcResult?.keptForStaging ?? 0) >= 20)
  const pulled = await pullDataset(inner, staged.ref, path.join(scratch, 'pull-d8'))
  assert.equal(pulled.files, 40)
  assert.equal((await inner.list(LEASES_PREFIX)).objects.length, 0, 'the lease is gone once the stage ends')
})

test('gc removes temp files of killed writes and stale staging leases, not fresh ones', async () => {
  const store = new FileStore(path.join(scratch, 'store-d18'))
  await store.put('runs/r/checkpoints/step-1/a.bin', 'x')
  const dir = path.dirname(store.pathOf('runs/r/checkpoints/step-1/a.bin'))
  writeFileSync(path.join(dir, '.rfm-tmp-999-deadbeef'), Buffer.alloc(5000))
  writeFileSync(path.join(dir, '.rfm-tmp-999-fresh'), Buffer.alloc(10))
  const old = new Date(Date.now() - 2 * 3600_000)
  utimesSync(path.join(dir, '.rfm-tmp-999-deadbeef'), old, old)
  await store.put(`${LEASES_PREFIX}stale.json`, '{}')
  utimesSync(store.pathOf(`${LEASES_PREFIX}stale.json`), old, old)
  const result = await collectGarbage(store)
  assert.equal(result.leftovers, 2)
  assert.equal(result.leftoverBytes, 5000)
  assert.equal(result.stagingInProgress, 0)
  assert.deepEqual(readdirSync(dir).sort(), ['.rfm-tmp-999-fresh', 'a.bin'])
})

test('a stage rides out a 4 s outage of s3rver', {timeout: 90_000}, async () => {
  const inner = await S3Store.open(`s3://${s3.bucket}/outage`, {endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS, maxAttempts: 2})
  const source = tree('outage', 60, 20_000)
  let uploads = 0
  let restarted: Promise<void> | undefined
  const store: ObjectStore = Object.assign(Object.create(inner) as S3Store, {
    putFile: async (key: string, file: string) => {
      if (++uploads === 10) {
        await s3.kill()
        restarted = new Promise((resolve) => setTimeout(resolve, 4000)).then(() => s3.restart())
      }
      return inner.putFile(key, file)
    },
  })
  const staged = await stageTree(store, source, {name: 'outage', retry: {attempts: 2, baseMs: 10, maxMs: 20}})
  await restarted
  assert.equal(staged.files, 60)
  const pulled = await pullDataset(inner, staged.ref, path.join(scratch, 'pull-outage'))
  assert.equal(pulled.files, 60)
})
