import assert from 'node:assert/strict'
import {mkdtempSync, readdirSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {pullCheckpoint} from '../../../src/checkpoint/pull'
import {CheckpointStore} from '../../../src/checkpoint/store'
import {StoreCheckpointIO} from '../../../src/checkpoint/store-io'
import {FileStore} from '../../../src/store/file-store'

const RUN = 'command-20261122-000000-abcd'
const fresh = () => {
  const warnings: string[] = []
  const store = new FileStore(mkdtempSync(path.join(os.tmpdir(), 'rfm-ckpt-')))
  return {store, warnings, checkpoints: new CheckpointStore(store, RUN, (w) => warnings.push(w))}
}
const bytes = (text: string) => Buffer.from(text)

test('a checkpoint exists only once its manifest is written', async () => {
  const {store, checkpoints} = fresh()
  await checkpoints.commit(10, [['model.safetensors', bytes('ten')]])
  // A save killed before its manifest: files present, no manifest.
  await store.put(`runs/${RUN}/checkpoints/step-20/model.safetensors`, 'twenty')
  assert.deepEqual(
    (await checkpoints.list()).map((c) => c.step),
    [10],
  )
  const latest = await checkpoints.latest()
  assert.equal(latest?.step, 10)
  assert.equal(latest?.files.get('model.safetensors')?.toString(), 'ten')
})

test('a checkpoint whose files do not match the manifest is skipped with a warning', async () => {
  const {store, checkpoints, warnings} = fresh()
  await checkpoints.commit(5, [['w.bin', bytes('five')]])
  await checkpoints.commit(10, [['w.bin', bytes('ten')]])
  await store.put(`runs/${RUN}/checkpoints/step-10/w.bin`, 'tEn') // same size, other bytes
  assert.equal((await checkpoints.latest())?.step, 5)
  assert.match(warnings[0], /step 10 is damaged \(w\.bin does not match its manifest\)/)
  await store.delete(`runs/${RUN}/checkpoints/step-5/w.bin`)
  assert.equal(await checkpoints.latest(), undefined)
  assert.match(warnings.at(-1) ?? '', /step 5 is damaged \(w\.bin is missing\)/)
})

test('retention keeps the newest N, best, final and the one being resumed from', async () => {
  const {checkpoints} = fresh()
  const policy = {saveTotalLimit: 2, bestMetric: 'eval_loss', greaterIsBetter: false}
  for (const [step, loss] of [
    [1, 0.9],
    [2, 0.2],
    [3, 0.5],
    [4, 0.6],
    [5, 0.7],
    [6, 0.8],
  ] as const) {
    const manifest = await checkpoints.commit(step, [['w', bytes(String(step))]], {metrics: {eval_loss: loss}})
    await checkpoints.updateBest({step, manifest}, policy)
  }
  await checkpoints.setPointer('final', {step: 3})
  const removed = await checkpoints.applyRetention(policy, [1])
  assert.deepEqual(removed, [4])
  assert.deepEqual(
    (await checkpoints.list()).map((c) => c.step),
    [1, 2, 3, 5, 6],
  )
  assert.deepEqual(await checkpoints.pointer('best'), {step: 2, metric: 0.2})
})

test('built-in trainers: save named tensors + JSON state, load the newest back exactly', async () => {
  const {checkpoints} = fresh()
  const commits: number[] = []
  const io = new StoreCheckpointIO(checkpoints, {saveTotalLimit: 1}, 1, (step) => void commits.push(step))
  assert.equal(await io.loadLatest(), undefined)
  const weights = new Uint8Array(new Float32Array([1.5, -2, 3.25]).buffer)
  await io.save(7, {'model.safetensors': weights}, {step: 7, rng: [1, 2, 3]})
  await io.save(8, {'model.safetensors': weights}, {step: 8, rng: [4, 5, 6]}, {final: true})
  const loaded = await new StoreCheckpointIO(checkpoints, {}, 2).loadLatest()
  assert.equal(loaded?.step, 8)
  assert.deepEqual(loaded?.state, {step: 8, rng: [4, 5, 6]})
  assert.deepEqual([...new Float32Array(loaded!.files['model.safetensors'].slice().buffer)], [1.5, -2, 3.25])
  assert.deepEqual(commits, [7, 8])
  assert.deepEqual(
    (await checkpoints.list()).map((c) => c.step),
    [8],
  )
  assert.deepEqual(await checkpoints.pointer('final'), {step: 8})
})

test('pull writes only inside the target folder, even for a crafted manifest', async () => {
  const {store, checkpoints} = fresh()
  await checkpoints.commit(1, [['sub/a.bin', bytes('a')]])
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-pull-'))
  const [only] = await checkpoints.list()
  assert.deepEqual(await pullCheckpoint(checkpoints, only, dir), ['sub/a.bin'])
  assert.deepEqual(readdirSync(path.join(dir, 'sub')), ['a.bin'])
  const crafted = {schemaVersion: 1, step: 2, createdAt: '', files: [{path: '../../escape.txt', size: 1, sha256: 'x'}]}
  await store.put(`runs/${RUN}/checkpoints/step-2/manifest.json`, JSON.stringify(crafted))
  const evil = (await checkpoints.list()).find((c) => c.step === 2)!
  await assert.rejects(pullCheckpoint(checkpoints, evil, dir), /unsafe path "..\/..\/escape.txt"/)
  await assert.rejects(checkpoints.commit(3, [['../x', bytes('x')]]), /invalid checkpoint file path/)
})
