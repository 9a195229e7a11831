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
import {pluginApi} from '../../../src/plugin-api/host'
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
const pluginDist = (name: string, file: string) => path.join(__dirname, '..', '..', '..', '..', 'plugins', name, 'dist', file)

test('D3 (R4 #38): ckpt pull replaces a symlink in DIR instead of writing through it', async () => {
  const store = new FileStore(dir('store'))
  const checkpoints = new CheckpointStore(store, 'vla-sensor-20261204-000000-ea11')
  await checkpoints.commit(1, [['model.safetensors', Buffer.from('weights')], ['sub/extra.json', Buffer.from('{}')]])
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
    chain: [{path: 'd/up', target: '..'}, {path: 'esc', target: 'd/up/..'}],
    chain2: [{path: 'd/e/up', target: '../..'}, {path: 'esc2', target: 'd/e/up/../../..'}],
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
      links: [{path: 'l1', target: 'l2'}, {path: 'l2', target: 'l1'}, {path: 'dangling', target: 'nothing'}, {path: 'b', target: 'a'}, {path: 'a/up', target: '..'}],
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

/** A dataset folder holding prefs.jsonl whose record names `image`, and a valid PNG outside it. */
function rmEvalDataset(image: string): string {
  const root = dir('rm')
  const data = path.join(root, 'data')
  mkdirSync(path.join(data, 'images'), {recursive: true})
  const png = formats.encodePng({width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(90)})
  writeFileSync(path.join(data, 'images', '0.png'), png)
  mkdirSync(path.join(root, 'elsewhere'))
  writeFileSync(path.join(root, 'elsewhere', 'x.png'), png)
  writeFileSync(path.join(data, 'prefs.jsonl'), JSON.stringify({prompt: 'q', chosen: 'a', rejected: 'b', images: [image]}) + '\n')
  return data
}

test('D5 (R4 #41, #42): rm-eval records cannot name images outside the dataset', async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const {readPreferenceRecords} = require(pluginDist('rm-eval', 'records.js')) as {readPreferenceRecords(api: unknown, p: string): Promise<unknown[]>}
  for (const image of ['../../../../etc/passwd', '../elsewhere/x.png', '/etc/passwd']) {
    await assert.rejects(readPreferenceRecords(pluginApi, rmEvalDataset(image)), (e: Error & {exitCode?: number}) => {
      assert.match(e.message, /field "images": the image path .* leads outside the dataset folder/)
      assert.doesNotMatch(e.message, /PNG or JPEG/) // refused before it was opened
      assert.equal(e.exitCode, 2)
      return true
    })
  }
  // a link inside the dataset that leads out is refused too
  const data = rmEvalDataset('images/link.png')
  symlinkSync(path.join(data, '..', 'elsewhere', 'x.png'), path.join(data, 'images', 'link.png'))
  await assert.rejects(readPreferenceRecords(pluginApi, data), /leads outside/)
  assert.equal((await readPreferenceRecords(pluginApi, rmEvalDataset('images/0.png'))).length, 1)
})

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

test('D5: grpo JSONL rows and vla session views cannot lead outside the dataset', async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const grpo = require(pluginDist('grpo', 'data.js')) as {loadDatasetRows(f: unknown, loc: string, split: string, c: unknown, size: number): Promise<unknown>}
  const root = dir('grpo')
  mkdirSync(path.join(root, 'ds'))
  writeFileSync(path.join(root, 'secret.png'), 'not even an image')
  writeFileSync(path.join(root, 'ds', 'train.jsonl'), JSON.stringify({image: '../secret.png', question: 'q', answer: 'a'}) + '\n')
  await assert.rejects(
    grpo.loadDatasetRows(formats, path.join(root, 'ds', 'train.jsonl'), 'train', {skip_invalid: false, image_root: null, min_pixels: 1, max_pixels: 1e6}, 16),
    /image "..\/secret.png" leads outside the dataset folder/,
  )
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const vla = require(pluginDist('vla-sensor', 'sessions.js')) as {directoryDataset(f: unknown, dir: string, val: number, shape: {t: number; c: number}): Promise<unknown>}
  const sessions = dir('vla')
  mkdirSync(path.join(sessions, 's0', 'images'), {recursive: true})
  writeFileSync(path.join(sessions, 's0', 'meta.json'), JSON.stringify({instruction: 'go', views: ['../../..']}))
  writeFileSync(path.join(sessions, 's0', 'actions.npy'), formats.encodeNpy({dtype: 'f4', shape: [1, 8, 7], data: new Float32Array(56)}))
  await assert.rejects(vla.directoryDataset(formats, sessions, 0, {t: 4, c: 3}), /the view "..\/..\/.." leads outside/)
})
