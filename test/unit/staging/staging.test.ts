/**
 * Staging, pulling, removal and gc — the same suite on the file:// store and on S3 (s3rver).
 */
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {describe, test} from 'node:test'

import {collectGarbage, listNameEntries, pullDataset, readManifest, removeDataset, resolveRef, stageConfigPaths, stageTree} from '../../../src/staging'
import {manifestBytes, sha256, type Manifest} from '../../../src/staging/manifest'
import {manifestKey, objectKey, OBJECTS_PREFIX} from '../../../src/staging/layout'
import {Progress} from '../../../src/staging/progress'
import {FileStore} from '../../../src/store/file-store'
import {S3Store} from '../../../src/store/s3-store'
import type {ObjectStore} from '../../../src/store/types'
import {S3RVER_CREDENTIALS} from '../../helpers/s3rver'
import {scratchAndS3rver} from '../../helpers/scratch-stores'

const {scratch, s3} = scratchAndS3rver('rfm-staging-test-')
process.env.RFM_HOME = path.join(scratch, 'home')

let counter = 0
function dir(label: string): string {
  const d = path.join(scratch, `${label}-${++counter}`)
  mkdirSync(d, {recursive: true})
  return d
}

/** A small tree like a real dataset: nested folders, a shared file content, an executable, a link. */
function makeTree(): string {
  const root = dir('tree')
  mkdirSync(path.join(root, 'episodes', 'a'), {recursive: true})
  mkdirSync(path.join(root, 'episodes', 'b'))
  for (let i = 0; i < 12; i++) writeFileSync(path.join(root, 'episodes', i % 2 ? 'a' : 'b', `traj-${i}.npz`), randomBytes(1000 + i * 300))
  writeFileSync(path.join(root, 'labels.json'), '{"a": 1}\n')
  writeFileSync(path.join(root, 'episodes', 'copy-of-labels.json'), '{"a": 1}\n')
  writeFileSync(path.join(root, 'run.sh'), '#!/bin/sh\necho hi\n')
  chmodSync(path.join(root, 'run.sh'), 0o755)
  symlinkSync('episodes/a', path.join(root, 'latest'))
  return root
}

function digest(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

const kinds: Array<[string, () => Promise<ObjectStore>]> = [
  ['file', async () => new FileStore(dir('store'))],
  ['s3', async () => S3Store.open(`s3://${s3.bucket}/st-${++counter}`, {endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS, pageSize: 5})],
]

for (const [kind, open] of kinds) {
  describe(`staging on the ${kind} store`, () => {
    test('stage → content-addressed objects and a manifest; unchanged re-stage uploads nothing; a change uploads only itself', async () => {
      const store = await open()
      const tree = makeTree()
      const first = await stageTree(store, tree, {name: 'robot-vqa', headCheckMax: 4})
      assert.match(first.ref, /^ds:robot-vqa@[0-9a-f]{12}$/)
      assert.equal(first.files, 15)
      assert.equal(first.links, 1)
      assert.equal(first.uploadedFiles, 14, 'two files share one content')
      const manifest = await readManifest(store, first.hash)
      assert.equal(sha256(manifestBytes(manifest)), first.hash)
      for (const file of manifest.files) assert.equal((await store.head(objectKey(file.sha256)))?.size, file.size)
      assert.equal(manifest.files.find((f) => f.path === 'run.sh')?.mode, 0o755)
      assert.deepEqual(manifest.links, [{path: 'latest', target: 'episodes/a'}])

      const again = await stageTree(store, tree, {name: 'robot-vqa'})
      assert.equal(again.hash, first.hash)
      assert.equal(again.uploadedFiles, 0)

      writeFileSync(path.join(tree, 'episodes', 'a', 'traj-1.npz'), randomBytes(5000))
      writeFileSync(path.join(tree, 'new.txt'), 'new')
      const changed = await stageTree(store, tree, {name: 'robot-vqa'})
      assert.notEqual(changed.hash, first.hash)
      assert.equal(changed.uploadedFiles, 2)
      assert.equal((await resolveRef(store, 'ds:robot-vqa')).hash, changed.hash, 'ds:NAME is the newest version')
      assert.equal((await resolveRef(store, first.ref)).hash, first.hash)
      assert.deepEqual((await listNameEntries(store)).map((e) => e.hash).sort(), [first.hash, changed.hash].sort())
    })

    test('an unchanged tree with cached hashes is not read again, but a plain re-stage restores a lost object', async () => {
      const store = await open()
      const tree = makeTree()
      // Hashes of files written this very moment are not trusted (as in git); let them age.
      await new Promise((resolve) => setTimeout(resolve, 1100))
      const first = await stageTree(store, tree, {name: 'settled'})
      const lost = (await readManifest(store, first.hash)).files[0]
      await store.delete(objectKey(lost.sha256))
      const quick = await stageTree(store, tree, {name: 'settled'})
      assert.equal(quick.uploadedFiles, 1, 'the store is checked (one listing or HEADs), the lost object sent again')
      assert.equal(quick.hash, first.hash)
      const full = await stageTree(store, tree, {name: 'settled', full: true})
      assert.equal(full.uploadedFiles, 0, '--full reads every stored object back: all intact now')
    })

    test('pull restores every file, mode and link, verifies hashes, and skips files already right', async () => {
      const store = await open()
      const tree = makeTree()
      const staged = await stageTree(store, tree, {name: 'set'})
      const out = dir('pull')
      const pulled = await pullDataset(store, staged.ref, out)
      assert.equal(pulled.downloadedFiles, 15)
      for (const rel of ['labels.json', 'episodes/a/traj-3.npz', 'episodes/b/traj-4.npz', 'run.sh']) assert.equal(digest(path.join(out, rel)), digest(path.join(tree, rel)))
      assert.equal(lstatSync(path.join(out, 'run.sh')).mode & 0o777, 0o755)
      assert.equal(readlinkSync(path.join(out, 'latest')), 'episodes/a')
      const again = await pullDataset(store, staged.ref, out)
      assert.equal(again.unchangedFiles, 15)
      assert.equal(again.downloadedFiles, 0)
    })

    test('pull never makes a file group- or world-writable, whatever mode it was staged with', async () => {
      const store = await open()
      const tree = dir('wide')
      writeFileSync(path.join(tree, 'open.sh'), '#!/bin/sh\n')
      writeFileSync(path.join(tree, 'open.json'), '{}\n')
      chmodSync(path.join(tree, 'open.sh'), 0o777)
      chmodSync(path.join(tree, 'open.json'), 0o666)
      const staged = await stageTree(store, tree, {name: 'wide'})
      const out = dir('wide-pull')
      await pullDataset(store, staged.ref, out)
      assert.equal(lstatSync(path.join(out, 'open.sh')).mode & 0o777, 0o755)
      assert.equal(lstatSync(path.join(out, 'open.json')).mode & 0o777, 0o644)
    })

    test('a damaged object is an error on pull, and no bad file is left behind', async () => {
      const store = await open()
      const tree = makeTree()
      const staged = await stageTree(store, tree, {name: 'set'})
      const manifest = await readManifest(store, staged.hash)
      const victim = manifest.files.find((f) => f.path === 'labels.json')!
      await store.put(objectKey(victim.sha256), '{"a": 2}\n')
      const out = dir('pull-bad')
      await assert.rejects(pullDataset(store, staged.ref, out, {retry: {baseMs: 1}}), (error: Error & {code?: string}) => {
        assert.equal(error.code, 'INTEGRITY')
        assert.match(error.message, /labels\.json/)
        return true
      })
      assert.equal(existsSync(path.join(out, 'labels.json')), false)
    })

    test('rm removes the manifest only; gc deletes objects no manifest lists', async () => {
      const store = await open()
      const shared = makeTree()
      const a = await stageTree(store, shared, {name: 'a'})
      writeFileSync(path.join(shared, 'only-b.bin'), randomBytes(2000))
      rmSync(path.join(shared, 'labels.json'))
      rmSync(path.join(shared, 'episodes', 'copy-of-labels.json'))
      const b = await stageTree(store, shared, {name: 'b'})
      const before = (await store.list(OBJECTS_PREFIX)).objects.length
      const removed = await removeDataset(store, a.ref)
      assert.equal(removed.manifestRemoved, true)
      assert.equal(await store.head(manifestKey(a.hash)), undefined)
      assert.equal((await store.list(OBJECTS_PREFIX)).objects.length, before, 'rm leaves objects to gc')
      const young = await collectGarbage(store)
      assert.equal(young.deleted, 0, 'objects younger than the grace period stay')
      assert.equal(young.tooYoung, 1)
      const gc = await collectGarbage(store, {minAgeMs: 0})
      assert.equal(gc.deleted, 1, 'only the labels content was unique to a')
      assert.equal((await store.list(OBJECTS_PREFIX)).objects.length, before - 1)
      const pulled = await pullDataset(store, b.ref, dir('pull-b'))
      assert.equal(pulled.downloadedFiles, pulled.files)
      await assert.rejects(resolveRef(store, a.ref), /does not exist/)
    })

    test('rm keeps a manifest that a run still uses', async () => {
      const store = await open()
      const staged = await stageTree(store, makeTree(), {name: 'used'})
      await store.put('runs/sft-1/run.json', JSON.stringify({id: 'sft-1', config: {data: {train: staged.ref}}}))
      const removed = await removeDataset(store, staged.ref)
      assert.equal(removed.manifestRemoved, false)
      assert.match(removed.keptBecause ?? '', /sft-1/)
      assert.ok(await store.head(manifestKey(staged.hash)))
    })

    test('pull never writes outside DIR, even for a crafted manifest', async () => {
      const store = await open()
      const outside = dir('outside')
      const content = Buffer.from('evil')
      const hash = sha256(content)
      await store.put(objectKey(hash), content)
      const craft = async (manifest: Omit<Manifest, 'schemaVersion' | 'type' | 'root'>): Promise<string> => {
        // Written by hand (not via manifestBytes) so that anything can be smuggled in.
        const bytes = Buffer.from(JSON.stringify({schemaVersion: 1, type: 'rfm.dataset', root: 'dir', ...manifest}))
        const h = sha256(bytes)
        await store.put(manifestKey(h), bytes)
        return h.slice(0, 16)
      }
      const file = (p: string) => ({path: p, size: content.length, sha256: hash, mode: 0o644})
      const attacks = [
        await craft({files: [file('../evil')], links: []}),
        await craft({files: [file('/tmp/evil')], links: []}),
        await craft({files: [file('a/../../evil')], links: []}),
        await craft({files: [], links: [{path: 'up', target: '../..'}]}),
        await craft({files: [file('l/evil')], links: [{path: 'l', target: 'x'}]}),
      ]
      for (const ref of attacks) {
        const out = dir('victim')
        await assert.rejects(pullDataset(store, ref, out), /crafted or damaged manifest/)
      }
      // A symlink already in DIR must not be written through either.
      const out = dir('victim')
      symlinkSync(outside, path.join(out, 'sub'))
      await assert.rejects(pullDataset(store, await craft({files: [file('sub/evil')], links: []}), out), /symlink/)
      assert.deepEqual(readdir(outside), [])
    })
  })
}

function readdir(d: string): string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:fs') as typeof import('node:fs')).readdirSync(d)
}

test('a symlink that leaves the tree is refused; a single file stages as itself', async () => {
  const store = new FileStore(dir('store'))
  const tree = makeTree()
  symlinkSync(path.join(scratch), path.join(tree, 'escape'))
  await assert.rejects(stageTree(store, tree), (error: Error & {code?: string}) => {
    assert.equal(error.code, 'UNSAFE_PATH')
    assert.match(error.message, /escape/)
    return true
  })
  const single = await stageTree(store, path.join(tree, 'labels.json'))
  assert.match(single.ref, /^ds:labels\.json@/)
  const out = dir('single')
  await pullDataset(store, single.ref, out)
  assert.equal(readFileSync(path.join(out, 'labels.json'), 'utf8'), '{"a": 1}\n')
})

test('stageConfigPaths replaces local dataset paths with refs and leaves refs and URLs alone', async () => {
  const store = new FileStore(dir('store'))
  const tree = makeTree()
  const base = path.dirname(tree)
  const config = {data: {train: path.basename(tree), eval: 'ds:other@0123456789ab', extra: [tree, 's3://bucket/x']}, lr: 1}
  const seen: string[] = []
  const {config: out, staged} = await stageConfigPaths(config, ['data.train', 'data.eval', 'data.extra', 'data.missing'], store, {baseDir: base, onStaged: (s) => seen.push(s.field)})
  const data = out.data as {train: string; eval: string; extra: string[]}
  assert.match(data.train, /^ds:tree-\d+@[0-9a-f]{12}$/)
  assert.equal(data.eval, 'ds:other@0123456789ab')
  assert.deepEqual(data.extra, [data.train, 's3://bucket/x'])
  assert.deepEqual(seen, ['data.train', 'data.extra.0'])
  assert.equal(staged[1].uploadedFiles, staged[0].uploadedFiles, 'the same folder is staged once')
  assert.equal((config.data as {train: string}).train, path.basename(tree), 'the input config is not modified')
  await assert.rejects(stageConfigPaths({data: {train: 'nope'}}, ['data.train'], store, {baseDir: base}), /data\.train/)
})

test('progress: a redrawn bar on a terminal, plain lines otherwise, nothing when silent', async () => {
  const sink = () => {
    const chunks: string[] = []
    return {chunks, stream: {write: (s: string) => (chunks.push(s), true)} as unknown as NodeJS.WritableStream}
  }
  const tty = sink()
  const bar = new Progress({label: 'Staging', totalBytes: 2_000_000, totalFiles: 4, mode: 'tty', stream: tty.stream})
  bar.addBytes(1_000_000)
  bar.fileDone()
  bar.finish()
  assert.match(tty.chunks[0], /^\r\u001B\[2KStaging \[#{12}\.{12}\]  50%  1\.0 MB\/2\.0 MB  0\/4 files  .*\/s  ETA /)
  assert.equal(tty.chunks.at(-1), '\r\u001B[2K', 'the line is cleared at the end')

  const plain = sink()
  const lines = new Progress({label: 'Staging', totalBytes: 10, totalFiles: 1, mode: 'plain', stream: plain.stream, intervalMs: 60_000})
  lines.addBytes(10)
  lines.fileDone()
  lines.finish()
  // One line at the start, and one with the final figures at the end (#19 D19: not a stale 0%).
  assert.equal(plain.chunks.length, 2)
  assert.equal(plain.chunks[0], 'Staging: 0%  0 B/10 B  0/1 files  0 B/s  ETA ?\n')
  assert.match(plain.chunks[1], /^Staging: 100%  10 B\/10 B  1\/1 files  .*ETA 0s\n$/)

  const quiet = sink()
  const silent = new Progress({label: 'Staging', totalBytes: 10, totalFiles: 1, mode: 'silent', stream: quiet.stream})
  silent.addBytes(10)
  silent.finish()
  assert.deepEqual(quiet.chunks, [])
})
