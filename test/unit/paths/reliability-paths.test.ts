/**
 * Reliability report D3–D5 (R4 #21, #22, #38, #41–#43): nothing rfm pulls is written through a
 * symlink in DIR, chained links of a crafted manifest are judged by where they lead on disk, and a
 * dataset's own records cannot make rfm open a file outside the dataset.
 */
import assert from 'node:assert/strict'
import {existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {pullCheckpoint} from '../../../src/checkpoint/pull'
import {CheckpointStore} from '../../../src/checkpoint/store'
import * as formats from '../../../src/formats'
import {resolveInside, resolvePhysical} from '../../../src/paths'
import {pullDataset} from '../../../src/staging'
import {manifestKey, objectKey} from '../../../src/staging/layout'
import {sha256} from '../../../src/staging/manifest'
import {FileStore} from '../../../src/store/file-store'

const scratch = mkdtempSync(path.join(os.tmpdir(), 'rfm-rel-paths-'))
let n = 0
const dir = (label: string) => {
  const d = path.join(scratch, `${label}-${++n}`)
  mkdirSync(d, {recursive: true})
  return d
}

test('D3 (R4 #38): ckpt pull replaces a symlink in DIR instead of writing through it', async () => {
  const store = new FileStore(dir('store'))
  const checkpoints = new CheckpointStore(store, 'vla-sensor-20261204-000000-ea11')
  await checkpoints.commit(1, [
    ['model.safetensors', Buffer.from('weights')],
    ['sub/extra.json', Buffer.from('{}')],
  ])
  const outside = dir('outside')
  const victim = path.join(outside, 'victim-ckpt.txt')
  writeFileSync(victim, 'keep me')
  const out = dir('ck')
  symlinkSync(victim, path.join(out, 'model.safetensors'))
  const [only] = await checkpoints.list()
  await pullCheckpoint(checkpoints, only, out)
  assert.equal(readFileSync(victim, 'utf8'), 'keep me')
  assert.ok(lstatSync(path.join(out, 'model.safetensors')).isFile())
  assert.equal(readFileSync(path.join(out, 'model.safetensors'), 'utf8'), 'weights')
  // a parent folder that is a symlink out of DIR is refused, nothing written outside
  const out2 = dir('ck')
  symlinkSync(outside, path.join(out2, 'sub'))
  await assert.rejects(pullCheckpoint(checkpoints, only, out2), (e: Error & {exitCode?: number}) => /symlink/.test(e.message) && e.exitCode === 2)
  assert.deepEqual(readdirSync(outside), ['victim-ckpt.txt'])
})

test('D4 (R4 #21, #22): chained links of a crafted manifest are refused by where they lead on disk', async () => {
  const store = new FileStore(dir('store'))
  const craft = async (links: Array<{path: string; target: string}>): Promise<string> => {
    const bytes = Buffer.from(JSON.stringify({schemaVersion: 1, type: 'rfm.dataset', root: 'dir', files: [], links}))
    const h = sha256(bytes)
    await store.put(manifestKey(h), bytes)
    return h.slice(0, 16)
  }
  const cases = {
    chain: [
      {path: 'd/up', target: '..'},
      {path: 'esc', target: 'd/up/..'},
    ],
    chain2: [
      {path: 'd/e/up', target: '../..'},
      {path: 'esc2', target: 'd/e/up/../../..'},
    ],
  }
  for (const [name, links] of Object.entries(cases)) {
    const out = dir(`pull-${name}`)
    await assert.rejects(pullDataset(store, await craft(links), out), (e: Error & {code?: string; exitCode?: number}) => {
      assert.equal(e.code, 'UNSAFE_MANIFEST', e.message)
      assert.equal(e.exitCode, 2)
      return true
    })
    // no link that leads outside is left behind
    for (const link of links) assert.equal(existsSync(path.join(out, link.path)) && lstatSync(path.join(out, link.path)).isSymbolicLink(), false, name)
  }
  // A link of DIR's own combined with a manifest link: judged on disk too.
  const outside = dir('outside')
  mkdirSync(path.join(outside, 'deep'))
  const out = dir('pull-own')
  symlinkSync(path.join(outside, 'deep'), path.join(out, 'mine'))
  await assert.rejects(pullDataset(store, await craft([{path: 'esc', target: 'mine/..'}]), out), /leads outside/)
  // Links that stay inside still pull (a loop, a dangling link, a link to a folder inside).
  const ok = dir('pull-ok')
  const content = Buffer.from('x')
  await store.put(objectKey(sha256(content)), content)
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 1,
      type: 'rfm.dataset',
      root: 'dir',
      files: [{path: 'a/f.txt', size: 1, sha256: sha256(content), mode: 0o644}],
      links: [
        {path: 'l1', target: 'l2'},
        {path: 'l2', target: 'l1'},
        {path: 'dangling', target: 'nothing'},
        {path: 'b', target: 'a'},
        {path: 'a/up', target: '..'},
      ],
    }),
  )
  await store.put(manifestKey(sha256(bytes)), bytes)
  await pullDataset(store, sha256(bytes).slice(0, 16), ok)
  assert.equal(readlinkSync(path.join(ok, 'b')), 'a')
})

test('resolvePhysical follows links on disk, including dangling tails', () => {
  const root = dir('phys')
  mkdirSync(path.join(root, 'd'))
  symlinkSync('..', path.join(root, 'd', 'up'))
  assert.equal(resolvePhysical(`${root}/d/up/..`), path.dirname(fs_real(root)))
  assert.equal(resolvePhysical(path.join(root, 'no', 'such')), path.join(fs_real(root), 'no', 'such'))
  assert.throws(() => resolveInside(root, path.join(root, 'd'), 'up/../x'), /leads outside/)
  assert.equal(resolveInside(root, root, 'd/up/d'), path.join(root, 'd', 'up', 'd'))
})

function fs_real(p: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:fs') as typeof import('node:fs')).realpathSync(p)
}

test('D5 (R4 #43): an HF state.json cannot name a data file outside the folder', async () => {
  const ds = path.join(dir('hf'), 'ds')
  await formats.writeHfDataset(ds, [{text: 'a'}], {text: {_type: 'Value', dtype: 'string'}})
  const statePath = path.join(ds, 'state.json')
  const state = JSON.parse(readFileSync(statePath, 'utf8'))
  state._data_files = [{filename: '../../../etc/passwd'}]
  writeFileSync(statePath, JSON.stringify(state))
  await assert.rejects(formats.readHfDataset(ds), (e: Error & {exitCode?: number}) => {
    assert.match(e.message, /state\.json: the data file "..\/..\/..\/etc\/passwd" lies outside the dataset folder/)
    assert.equal(e.exitCode, 2)
    return true
  })
})

// D5 for the plugins' own readers (rm-eval records, grpo JSONL rows, vla-sensor session views) is
// tested in plugins/{rm-eval,grpo,vla-sensor}/test/unit/paths.test.ts.
