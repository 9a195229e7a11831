import assert from 'node:assert/strict'
import {mkdtempSync, readdirSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {FileStore} from '../../../src/store/file-store'
import {openStore} from '../../../src/store/open'

const fresh = () => new FileStore(mkdtempSync(path.join(os.tmpdir(), 'rfm-store-')))

test('put/get/head/delete round-trip; missing objects are undefined', async () => {
  const store = fresh()
  assert.equal(await store.get('a/b.txt'), undefined)
  await store.put('a/b.txt', 'hello')
  assert.equal((await store.get('a/b.txt'))?.toString(), 'hello')
  assert.equal((await store.head('a/b.txt'))?.size, 5)
  await store.put('a/b.txt', 'bye')
  assert.equal((await store.get('a/b.txt'))?.toString(), 'bye')
  await store.delete('a/b.txt')
  assert.equal(await store.head('a/b.txt'), undefined)
  // atomic puts leave no temp files behind
  assert.deepEqual(readdirSync(path.join(store.root, 'a')), [])
})

test('append and reading from an offset (log following)', async () => {
  const store = fresh()
  await store.append('logs/x.log', 'one\n')
  await store.append('logs/x.log', 'two\n')
  assert.equal((await store.getFrom('logs/x.log', 4))?.toString(), 'two\n')
  assert.equal((await store.getFrom('logs/x.log', 8))?.length, 0)
  assert.equal(await store.getFrom('logs/none.log', 0), undefined)
})

test('list: recursive, delimited, and with a prefix inside a name', async () => {
  const store = fresh()
  for (const key of ['runs/a-1/run.json', 'runs/a-1/logs/attempt-1.log', 'runs/b-2/run.json', 'datasets/x/manifest.json']) await store.put(key, key)
  assert.deepEqual(
    (await store.list('runs/')).objects.map((o) => o.key),
    ['runs/a-1/logs/attempt-1.log', 'runs/a-1/run.json', 'runs/b-2/run.json'],
  )
  assert.deepEqual((await store.list('runs/', {delimited: true})).prefixes, ['runs/a-1/', 'runs/b-2/'])
  assert.deepEqual((await store.list('runs/a-')).objects.length, 2)
  assert.deepEqual((await store.list('nothing/')).objects, [])
})

test('keys cannot escape the store', async () => {
  const store = fresh()
  for (const key of ['../x', '/etc/passwd', 'a/../../x', 'a//b', 'a/./b', '']) {
    await assert.rejects(store.put(key, 'x'), /Invalid object key/, key)
  }
})

test('openStore: file URLs open, unknown schemes are usage errors', async () => {
  const store = await openStore('file:///tmp/rfm-open-test')
  assert.equal(store.url, 'file:///tmp/rfm-open-test')
  await assert.rejects(openStore('ftp://x'), (e: {exitCode: number}) => e.exitCode === 2)
})
