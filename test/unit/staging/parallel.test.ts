/**
 * Staging reads each file once (hash and upload from one buffer, or on the file store copy and hash
 * in one stream), several files at a time, largest first (issue #21 item 5). These tests would fail
 * if that lost or duplicated a file, recorded a hash other than the file's own, or committed a tree
 * whose file changed between the walk and its one read.
 */
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {test} from 'node:test'

import {pullDataset, stageTree} from '../../../src/staging'
import {hashOfObjectKey, manifestKey, NAMES_PREFIX, OBJECTS_PREFIX} from '../../../src/staging/layout'
import type {Manifest} from '../../../src/staging/manifest'
import {FileStore} from '../../../src/store/file-store'
import {S3Store} from '../../../src/store/s3-store'
import type {ObjectStore} from '../../../src/store/types'
import {S3RVER_CREDENTIALS} from '../../helpers/s3rver'
import {scratchAndS3rver} from '../../helpers/scratch-stores'

const {scratch, s3} = scratchAndS3rver('rfm-parallel-staging-test-')
process.env.RFM_HOME = path.join(scratch, 'home')

const MiB = 1024 * 1024
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

/** 60 small files (every 5th a copy of another), an empty file, and two 5 MiB files with the same bytes. */
function mixedTree(name: string): Map<string, Buffer> {
  const root = path.join(scratch, name)
  const files = new Map<string, Buffer>()
  const shared = randomBytes(5 * MiB)
  for (let i = 0; i < 60; i++) files.set(`part-${i % 4}/s-${i}.bin`, i % 5 === 4 ? files.get(`part-${(i - 1) % 4}/s-${i - 1}.bin`)! : randomBytes(100 + i * 997))
  files.set('empty.txt', Buffer.alloc(0))
  files.set('big/a.bin', shared)
  files.set('big/b.bin', shared)
  for (const [rel, bytes] of files) {
    mkdirSync(path.dirname(path.join(root, rel)), {recursive: true})
    writeFileSync(path.join(root, rel), bytes)
  }
  return files
}

async function storeFor(kind: 'file' | 's3', name: string): Promise<ObjectStore> {
  return kind === 'file' ? new FileStore(path.join(scratch, `store-${name}`)) : S3Store.open(`s3://rfm-test/${name}`, {endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS})
}

for (const kind of ['file', 's3'] as const) {
  test(`parallel staging records every file once under its own hash, and stores each content once, intact (${kind} store)`, async () => {
    const name = `mixed-${kind}`
    const files = mixedTree(name)
    const store = await storeFor(kind, name)
    const staged = await stageTree(store, path.join(scratch, name), {name, concurrency: 8, hashCache: false})

    const manifest = JSON.parse((await store.get(manifestKey(staged.hash)))!.toString('utf8')) as Manifest
    assert.deepEqual(
      manifest.files.map((f) => f.path),
      [...files.keys()].sort(),
      'each file listed once, in path order',
    )
    for (const entry of manifest.files) {
      assert.equal(entry.sha256, sha(files.get(entry.path)!), `${entry.path}: the hash of its bytes`)
      assert.equal(entry.size, files.get(entry.path)!.length)
    }
    const distinct = new Set([...files.values()].map(sha))
    assert.equal(staged.uploadedFiles, distinct.size, 'each distinct content sent once')
    const stored = (await store.list(OBJECTS_PREFIX)).objects
    assert.deepEqual(stored.map((o) => hashOfObjectKey(o.key)).sort(), [...distinct].sort(), 'the pool holds exactly the contents')
    for (const object of stored) assert.equal(sha((await store.get(object.key))!), hashOfObjectKey(object.key), `${object.key} holds what its name promises`)

    const out = path.join(scratch, `pulled-${kind}`)
    assert.equal((await pullDataset(store, staged.ref, out)).files, files.size)
    for (const [rel, bytes] of files) assert.ok(readFileSync(path.join(out, rel)).equals(bytes), rel)
  })
}

// The walk records each file's stamp (size, mtime, ctime, inode); the one read that hashes a file
// must see that stamp, or the manifest would name bytes the store never got.
for (const [label, size] of [
  ['a small file (read into one buffer)', 2000],
  ['a large file (copied and hashed in one stream)', 5 * MiB],
] as const) {
  test(`${label} rewritten with other bytes of the same size while staging: refused, nothing committed`, async () => {
    const name = `edited-${size}`
    const root = path.join(scratch, name)
    mkdirSync(root, {recursive: true})
    // Largest first, one at a time: `first` goes up before `victim` is read.
    writeFileSync(path.join(root, 'first.bin'), randomBytes(size + 1))
    writeFileSync(path.join(root, 'victim.bin'), randomBytes(size))
    const inner = new FileStore(path.join(scratch, `store-${name}`))
    let edited = false
    const edit = () => {
      if (edited) return
      edited = true
      writeFileSync(path.join(root, 'victim.bin'), randomBytes(size))
    }
    const store: ObjectStore = Object.assign(Object.create(inner) as FileStore, {
      put: async (key: string, body: Buffer, options?: object) => {
        await inner.put(key, body, options)
        if (key.startsWith(OBJECTS_PREFIX)) edit()
      },
      ingestFile: async (...args: Parameters<FileStore['ingestFile']>) => {
        const result = await inner.ingestFile(...args)
        edit()
        return result
      },
    })
    await assert.rejects(stageTree(store, root, {name, concurrency: 1, hashCache: false}), /victim\.bin changed while it was being staged/)
    assert.ok(edited)
    assert.deepEqual((await inner.list(NAMES_PREFIX)).objects, [], 'no name entry')
    assert.deepEqual(
      (await inner.list('datasets/')).objects.filter((o) => o.key.endsWith('/manifest.json')),
      [],
      'no manifest',
    )
  })
}
