/**
 * One suite, two stores: the file:// store and the S3 store against a real S3-protocol server
 * (s3rver on 127.0.0.1). Both must behave the same for everything rfm relies on.
 */
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {RunStore} from '../../../src/runs/run-store'
import {FileStore} from '../../../src/store/file-store'
import {openStore} from '../../../src/store/open'
import {S3Store} from '../../../src/store/s3-store'
import {getStream, putFile} from '../../../src/store/transfer'
import type {ObjectStore} from '../../../src/store/types'
import {S3RVER_CREDENTIALS, startS3rver, type S3rverHandle} from '../../helpers/s3rver'

async function streamHash(store: ObjectStore, key: string): Promise<string | undefined> {
  const stream = await getStream(store, key)
  if (!stream) return undefined
  const hash = createHash('sha256')
  for await (const chunk of stream) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

let s3: S3rverHandle
const scratch = mkdtempSync(path.join(os.tmpdir(), 'rfm-store-test-'))

before(async () => {
  s3 = await startS3rver()
})
after(async () => {
  await s3.stop()
  rmSync(scratch, {recursive: true, force: true})
})

const kinds: Array<[string, () => Promise<ObjectStore>]> = [
  ['file', async () => new FileStore(mkdtempSync(path.join(scratch, 'fs-')))],
  [
    's3',
    async () =>
      S3Store.open(`s3://${s3.bucket}/t-${randomBytes(4).toString('hex')}`, {
        endpoint: s3.endpoint,
        credentials: S3RVER_CREDENTIALS,
        pageSize: 3,
        multipartThreshold: 1024 * 1024,
        partSize: 5 * 1024 * 1024,
      }),
  ],
]

for (const [kind, open] of kinds) {
  describe(`${kind} store`, () => {
    test('put, get, head and delete; missing objects are undefined', async () => {
      const store = await open()
      assert.equal(await store.get('a/b.txt'), undefined)
      assert.equal(await store.head('a/b.txt'), undefined)
      await store.put('a/b.txt', 'hello')
      assert.equal((await store.get('a/b.txt'))?.toString(), 'hello')
      assert.equal((await store.head('a/b.txt'))?.size, 5)
      await store.put('a/b.txt', new Uint8Array([1, 2, 3]))
      assert.deepEqual([...(await store.get('a/b.txt'))!], [1, 2, 3])
      await store.delete('a/b.txt')
      await store.delete('a/b.txt')
      assert.equal(await store.get('a/b.txt'), undefined)
    })

    test('refuses keys that escape the store', async () => {
      const store = await open()
      for (const key of ['../x', '/abs', 'a/../b', 'a//b']) await assert.rejects(store.put(key, 'x'), /Invalid object key/)
    })

    test('append creates, then grows; getFrom reads the tail', async () => {
      const store = await open()
      await store.append('runs/r/events.jsonl', 'one\n')
      await store.append('runs/r/events.jsonl', 'two\n')
      assert.equal((await store.get('runs/r/events.jsonl'))?.toString(), 'one\ntwo\n')
      assert.equal((await store.getFrom('runs/r/events.jsonl', 4))?.toString(), 'two\n')
      assert.equal((await store.getFrom('runs/r/events.jsonl', 8))?.length, 0)
      assert.equal((await store.getFrom('runs/r/events.jsonl', 100))?.length, 0)
      assert.equal(await store.getFrom('runs/none.log', 3), undefined)
    })

    test('list: recursive, delimited, by partial name, across pages', async () => {
      const store = await open()
      const keys = ['runs/sft-1/run.json', 'runs/sft-2/run.json', 'runs/dpo-1/run.json', 'runs/sft-1/logs/a.log', 'x.txt', 'runs/top.txt']
      for (const key of keys) await store.put(key, key)
      const all = await store.list('runs/')
      assert.deepEqual(
        all.objects.map((o) => o.key),
        keys.filter((k) => k.startsWith('runs/')).sort(),
      )
      assert.equal(all.objects.find((o) => o.key === 'runs/top.txt')?.size, 'runs/top.txt'.length)
      const top = await store.list('runs/', {delimited: true})
      assert.deepEqual(top.prefixes, ['runs/dpo-1/', 'runs/sft-1/', 'runs/sft-2/'])
      assert.deepEqual(
        top.objects.map((o) => o.key),
        ['runs/top.txt'],
      )
      const sft = await store.list('runs/sft-', {delimited: true})
      assert.deepEqual(sft.prefixes, ['runs/sft-1/', 'runs/sft-2/'])
      assert.deepEqual((await store.list('nothing/')).objects, [])
    })

    test('putFile and getStream move large files intact (multipart on S3)', async () => {
      const store = await open()
      const file = path.join(scratch, `big-${kind}.bin`)
      const bytes = randomBytes(9 * 1024 * 1024 + 123)
      writeFileSync(file, bytes)
      let reported = 0
      await putFile(store, 'objects/big', file, {onProgress: (n) => (reported += n)})
      assert.equal(reported, bytes.length)
      assert.equal((await store.head('objects/big'))?.size, bytes.length)
      assert.equal(await streamHash(store, 'objects/big'), createHash('sha256').update(bytes).digest('hex'))
      assert.equal(await getStream(store, 'objects/missing'), undefined)
    })

    test('run records work over the store', async () => {
      const runs = new RunStore(await open())
      const time = new Date().toISOString()
      const record = {
        schemaVersion: 1,
        id: 'command-20260101-000000-abcd',
        kind: 'command',
        plugin: {name: 'rfm'},
        state: 'queued',
        createdAt: time,
        updatedAt: time,
        profile: 'default',
        store: 'x',
        backend: {name: 'local'},
        config: {},
        source: {overrides: []},
        retries: {attempts: 1, evaluate_on_exit: []},
        attempts: [],
      } as const
      await runs.create(structuredClone(record) as never)
      await runs.appendEvent(record.id, {type: 'attempt_started', time, attempt: 1})
      assert.deepEqual(
        (await runs.events(record.id)).map((e) => e.type),
        ['run_created', 'attempt_started'],
      )
      await runs.update(record.id, (r) => (r.state = 'running'))
      const listed = await runs.list()
      assert.deepEqual(
        listed.map((r) => [r.id, r.state]),
        [[record.id, 'running']],
      )
    })
  })
}

test('openStore opens s3:// URLs with the profile endpoint; stores under different prefixes are apart', async () => {
  const saved = {...process.env}
  Object.assign(process.env, s3.env)
  try {
    const a = await openStore(`s3://${s3.bucket}/one`, {endpoint: s3.endpoint})
    const b = await openStore(`s3://${s3.bucket}/one-more`, {endpoint: s3.endpoint})
    assert.equal(a.url, `s3://${s3.bucket}/one`)
    await a.put('k', 'a')
    await b.put('k', 'b')
    assert.equal((await a.get('k'))?.toString(), 'a')
    assert.deepEqual(
      (await a.list('')).objects.map((o) => o.key),
      ['k'],
    )
  } finally {
    process.env = saved
  }
})

test('S3 errors name the object and say whether a retry may help', async () => {
  const store = await S3Store.open('s3://no-such-bucket-rfm/x', {endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS, maxAttempts: 1})
  await assert.rejects(store.put('k', 'v'), (error: Error & {code?: string; hint?: string}) => {
    assert.equal(error.code, 'BACKEND')
    assert.match(error.message, /s3:\/\/no-such-bucket-rfm\/x\/k/)
    assert.match(error.hint ?? '', /bucket/)
    return true
  })
})
