/**
 * VQA dataset generation of the sft plugin, as a library: .npz files written by numpy, sample
 * semantics, ratios, eval mode, worker-count independence. (The CLI is tested in sft-dataset-cli.)
 */
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtempSync, readdirSync, readFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {formats} from '@rfm/plugin-kit/testing'
import {sft} from '../dataset-plugin'

const tmp = (prefix: string) => mkdtempSync(path.join(os.tmpdir(), `rfm-sft-${prefix}-`))

function numpyAvailable(): string | undefined {
  try {
    execFileSync('python3', ['-c', 'import numpy'], {stdio: 'ignore'})
    return undefined
  } catch {
    return 'python3 with numpy is not installed here: the numpy-written .npz tests are skipped'
  }
}
const noNumpy = numpyAvailable()
const python = (script: string) => execFileSync('python3', ['-c', script], {encoding: 'utf8'})

test('.npz trajectories written by numpy.savez and savez_compressed read back exactly, in every accepted layout', {skip: noNumpy}, async () => {
  const dir = tmp('npz')
  python(`
import numpy as np
T, H, W = 5, 6, 4
t, y, x, c = np.meshgrid(np.arange(T), np.arange(H), np.arange(W), np.arange(3), indexing='ij')
frames = ((t * 37 + y * 11 + x * 5 + c * 3) % 256).astype(np.uint8)
progress = np.linspace(0.0, 0.8, T)
np.savez('${dir}/plain.npz', frames=frames, task='pick up the cup', progress=progress.astype(np.float32))
# float pixels in [0, 1], channels first, alternative key names, one task string per frame, float64 progress
np.savez_compressed('${dir}/compressed.npz', images=np.transpose(frames, (0, 3, 1, 2)).astype(np.float64) / 255.0, language_instruction=np.array(['pick up the cup'] * T), target_progress=progress)
# grey frames
np.savez('${dir}/grey.npz', frames=frames[..., 0], task=np.array(['open the drawer']), progress=progress)
`)
  const expected = (t: number, y: number, xx: number, c: number) => (t * 37 + y * 11 + xx * 5 + c * 3) % 256
  for (const name of ['plain', 'compressed', 'grey']) {
    const trajectory = await sft.readNpzTrajectory(formats, path.join(dir, `${name}.npz`), 'error')
    assert.equal(trajectory.length, 5, name)
    assert.equal(trajectory.height, 6, name)
    assert.equal(trajectory.width, 4, name)
    assert.equal(trajectory.task, name === 'grey' ? 'open the drawer' : 'pick up the cup')
    for (let t = 0; t < 5; t++) assert.ok(Math.abs(trajectory.progress[t] - (0.8 * t) / 4) < 1e-6, `${name} progress[${t}]`)
    let mismatches = 0
    for (let t = 0; t < 5; t++)
      for (let y = 0; y < 6; y++)
        for (let xx = 0; xx < 4; xx++)
          for (let c = 0; c < 3; c++) {
            const want = expected(t, y, xx, name === 'grey' ? 0 : c)
            if (trajectory.frames[((t * 6 + y) * 4 + xx) * 3 + c] !== want) mismatches++
          }
    assert.equal(mismatches, 0, `${name}: pixels differ`)
  }
})

test('a .npz without a task, with bad progress or with a wrong frames shape is refused with an error naming the file and the key', {skip: noNumpy}, async () => {
  const dir = tmp('npz-bad')
  python(`
import numpy as np
f = np.zeros((3, 4, 4, 3), np.uint8)
np.savez('${dir}/no_task.npz', frames=f, progress=np.zeros(3))
np.savez('${dir}/short_progress.npz', frames=f, task='x', progress=np.zeros(2))
np.savez('${dir}/big_progress.npz', frames=f, task='x', progress=np.array([0, 0.5, 7.0]))
np.savez('${dir}/bad_shape.npz', frames=np.zeros((3, 4, 4, 5, 2), np.uint8), task='x', progress=np.zeros(3))
np.savez('${dir}/no_progress.npz', frames=f, task='x')
`)
  const cases: [string, RegExp][] = [
    ['no_task', /no_task\.npz: no task array \(key 'task'.*Keys in the file: frames, progress/],
    ['short_progress', /short_progress\.npz: key 'progress' has 2 values but the frames array has 3 frames/],
    ['big_progress', /big_progress\.npz: key 'progress' value 7 at frame 2 is outside \[0, 1\]/],
    ['bad_shape', /bad_shape\.npz: key 'frames' has shape \[3, 4, 4, 5, 2\]/],
    ['no_progress', /no_progress\.npz: no progress array \(key 'progress'/],
  ]
  for (const [name, pattern] of cases) {
    await assert.rejects(sft.readNpzTrajectory(formats, path.join(dir, `${name}.npz`), 'error'), (error: Error & {exitCode?: number}) => {
      assert.match(error.message, pattern)
      assert.ok(error.message.includes(path.join(dir, `${name}.npz`)), 'names the full path')
      assert.equal(error.exitCode, 2)
      return true
    })
  }
  // data.missing_progress=linear: demonstrations without labels go 0 → 1
  const linear = await sft.readNpzTrajectory(formats, path.join(dir, 'no_progress.npz'), 'linear')
  assert.deepEqual(Array.from(linear.progress), [0, 0.5, 1])
})

test('synthetic trajectories: pure in (name, index), progress in [0, 1], every outcome, success ends at 1', () => {
  const a = sft.syntheticTrajectory('train', 7, 32)
  const b = sft.syntheticTrajectory('train', 7, 32)
  assert.ok(Buffer.from(a.frames).equals(Buffer.from(b.frames)))
  assert.notDeepEqual(sft.planSynthetic('val', 7).states, sft.planSynthetic('train', 7).states)
  const outcomes = new Map<string, number[]>()
  for (let i = 0; i < 200; i++) {
    const plan = sft.planSynthetic('train', i)
    const finals = outcomes.get(plan.outcome) ?? []
    finals.push(plan.states[plan.states.length - 1].progress)
    outcomes.set(plan.outcome, finals)
    for (const s of plan.states) assert.ok(s.progress >= 0 && s.progress <= 1)
    assert.ok(sft.syntheticTasks().includes(plan.task))
  }
  assert.deepEqual([...outcomes.keys()].sort(), ['miss', 'partial', 'success', 'wrong_goal'])
  assert.ok(outcomes.get('success')!.every((p) => p > 0.99))
  assert.ok(outcomes.get('partial')!.every((p) => p > 0.25 && p < 0.95))
  assert.ok([...outcomes.get('miss')!, ...outcomes.get('wrong_goal')!].every((p) => p <= 0.25 + 1e-9))
})

/** Decoded rows of a generated dataset. */
async function rows(dir: string) {
  const dataset = await sft.openVqaDataset(dir, formats)
  return Array.from({length: dataset.size}, (_, i) => dataset.get(i))
}

test('sample types follow data.sample_type_ratio; answers agree with the trajectories they show', async () => {
  const dir = tmp('ratio')
  const data = {train_datasets: ['synthetic:ratio:60'], sample_type_ratio: [0.7, 0.3, 0.0], max_frames: 4}
  const result = await sft.generateVqaDataset({output: path.join(dir, 'a'), numEpochs: 5, numWorkers: 0, data}, formats)
  assert.equal(result.num_samples, 300)
  assert.equal(result.counts.similarity, 0)
  assert.ok(Math.abs(result.counts.preference - 210) <= 3, `preference ${result.counts.preference} ≈ 210`)
  assert.equal(result.counts.preference + result.counts.progress, 300)

  const mixed = await sft.generateVqaDataset({output: path.join(dir, 'b'), numEpochs: 5, numWorkers: 0, data: {...data, sample_type_ratio: [2, 3, 5]}}, formats)
  for (const [type, share] of [
    ['preference', 0.2],
    ['progress', 0.3],
    ['similarity', 0.5],
  ] as const)
    assert.ok(Math.abs(mixed.counts[type] - 300 * share) <= 3, `${type} ${mixed.counts[type]}`)

  const label = (source: string) => Number(/synthetic:ratio\/(\d+)/.exec(source)![1])
  const labels = (source: string) => source.split(' vs ').map(label)
  const samples = await rows(path.join(dir, 'b'))
  assert.equal(samples.length, 300)
  for (const s of samples) {
    assert.ok(s.framesA.length >= 2 && s.framesA.length <= 4, 'at most max_frames')
    assert.equal(s.framesA[0].length, 32 * 32 * 3)
    const [ia, ib] = labels(s.source)
    const planA = sft.planSynthetic('ratio', ia)
    assert.equal(s.task, planA.task)
    assert.ok(
      planA.states.some((st) => Math.abs(st.progress - s.progressA) < 1e-6),
      'progress_a is a progress of trajectory A',
    )
    if (s.sampleType === 'preference') {
      assert.equal(sft.planSynthetic('ratio', ib).task, s.task, 'both trajectories do the same task')
      assert.equal(s.answer, s.progressA > s.progressB ? 'A' : 'B')
      assert.equal(s.preferred, s.answer)
      assert.ok(Math.abs(s.progressA - s.progressB) >= 0.15 - 1e-6, 'progress differs by min_progress_gap')
    } else if (s.sampleType === 'progress') {
      assert.equal(s.framesB.length, 0)
      assert.equal(s.progressB, -1)
      assert.equal(s.answer, s.progressA.toFixed(2))
    } else {
      assert.equal(s.answer, sft.planSynthetic('ratio', ib).task === s.task ? 'yes' : 'no')
    }
  }
  // in memory, without a dataset on disk: the same samples
  const inMemory = await sft.vqaSamples({data: {...data, sample_type_ratio: [2, 3, 5]}, start: 100, count: 20}, formats)
  assert.deepEqual(inMemory, samples.slice(100, 120))

  for (const type of ['preference', 'similarity'] as const) {
    const answers = samples.filter((s) => s.sampleType === type).map((s) => s.answer)
    const share = answers.filter((a) => a === (type === 'preference' ? 'A' : 'yes')).length / answers.length
    assert.ok(share > 0.3 && share < 0.7, `${type} answers are balanced (${share})`)
  }
})

test("eval mode: deterministic, frames are the trajectory's own frames; train mode augments them", async () => {
  const dir = tmp('eval')
  const data = {train_datasets: ['synthetic:ev:20'], sample_type_ratio: [0, 1, 0], max_frames: 5}
  const run = (name: string, evalMode: boolean, seed = 42) => sft.generateVqaDataset({output: path.join(dir, name), numEpochs: 2, numWorkers: 0, evalMode, seed, data}, formats)
  await run('eval1', true)
  await run('eval2', true)
  await run('train', false)
  const arrow = (name: string) => readdirSync(path.join(dir, name)).filter((f) => f.endsWith('.arrow'))
  const files = (name: string) => arrow(name).map((f) => readFileSync(path.join(dir, name, f)))
  assert.deepEqual(files('eval1'), files('eval2'), 'same seed, same bytes')

  const key = (frame: Float32Array) => Buffer.from(Uint8Array.from(frame, (v) => Math.round(v * 255))).toString('base64')
  const check = async (name: string) => {
    let own = 0
    let total = 0
    for (const s of await rows(path.join(dir, name))) {
      const index = Number(/ev\/(\d+)/.exec(s.source)![1])
      const trajectory = sft.syntheticTrajectory('ev', index, 32)
      const frames = new Set(Array.from({length: trajectory.length}, (_, t) => key(Float32Array.from(trajectory.frames.subarray(t * 3072, (t + 1) * 3072), (v) => v / 255))))
      for (const f of s.framesA) {
        total++
        if (frames.has(key(f))) own++
      }
      if (name === 'train') continue
      assert.equal(key(s.framesA[0]), key(Float32Array.from(trajectory.frames.subarray(0, 3072), (v) => v / 255)), 'the first frame is shown')
      // the label belongs to the last frame shown: every frame of the trajectory equal to it has that progress
      const last = key(s.framesA[s.framesA.length - 1])
      const at = Array.from({length: trajectory.length}, (_, t) => t).filter((t) => key(Float32Array.from(trajectory.frames.subarray(t * 3072, (t + 1) * 3072), (v) => v / 255)) === last)
      assert.ok(at.length > 0 && at.every((t) => Math.abs(trajectory.progress[t] - s.progressA) < 1e-6), `row ${s.index}: progress ${s.progressA} is the last frame's`)
    }
    return own / total
  }
  assert.equal(await check('eval1'), 1, 'eval mode shows unaugmented frames')
  assert.ok((await check('train')) < 0.5, 'train mode changes most frames (brightness, shift)')
})

test('the output is the same for any number of worker threads and batch size', async () => {
  const dir = tmp('workers')
  const data = {train_datasets: ['synthetic:w:40'], sample_type_ratio: [1, 1, 1]}
  const digest = async (name: string, numWorkers: number, batchSize: number) => {
    const result = await sft.generateVqaDataset({output: path.join(dir, name), numEpochs: 3, numWorkers, batchSize, saveBatchSize: 50, data}, formats)
    assert.equal(result.shards, Math.ceil(120 / 50))
    const hash = createHash('sha256')
    for (const f of readdirSync(path.join(dir, name))
      .filter((n) => n.endsWith('.arrow'))
      .sort())
      hash.update(readFileSync(path.join(dir, name, f)))
    return {hash: hash.digest('hex'), workers: result.num_workers}
  }
  const one = await digest('one', 1, 100)
  const three = await digest('three', 3, 7)
  assert.equal(three.workers, 3, 'worker threads ran')
  assert.equal(one.hash, three.hash)
})

test('the labels can be read back from the pixels: a hand-written scene reader answers preference and progress samples', async () => {
  // eval-mode samples; the reader finds the goal pad, the block and the gripper by colour in the first
  // and last frames shown and applies the progress definition of the generator to what it sees
  const samples = await sft.vqaSamples({data: {train_datasets: ['synthetic:pixels:150'], sample_type_ratio: [1, 1, 0]}, evalMode: true, count: 300}, formats)
  const {pad, gripper, blocks} = sft.SYNTHETIC_COLORS
  const same = (f: Float32Array, i: number, rgb: number[]) => rgb.every((v, k) => Math.round(f[i * 3 + k] * 255) === v)
  const centroid = (f: Float32Array, match: (i: number) => boolean): [number, number] | undefined => {
    let x = 0
    let y = 0
    let n = 0
    for (let i = 0; i < 32 * 32; i++) {
      if (!match(i)) continue
      x += i % 32
      y += Math.floor(i / 32)
      n++
    }
    return n ? [x / n, y / n] : undefined
  }
  const d = (a: [number, number], b: [number, number]) => Math.hypot(a[0] - b[0], a[1] - b[1])
  const read = (frames: Float32Array[]) => {
    const [first, last] = [frames[0], frames[frames.length - 1]]
    const isBlock = (f: Float32Array) => (i: number) => Object.values(blocks).some((rgb) => same(f, i, rgb))
    const goal = centroid(first, (i) => same(first, i, pad))!
    const block0 = centroid(first, isBlock(first))!
    const block1 = centroid(last, isBlock(last)) ?? block0
    const grip0 = centroid(first, (i) => same(first, i, gripper))!
    const grip1 = centroid(last, (i) => same(last, i, gripper))!
    if (d(block0, block1) > 0.7) return 0.25 + 0.75 * Math.max(0, 1 - d(block1, goal) / d(block0, goal))
    return 0.25 * Math.max(0, 1 - d(grip1, block0) / Math.max(1e-6, d(grip0, block0)))
  }
  const preference = samples.filter((s) => s.sampleType === 'preference')
  const progress = samples.filter((s) => s.sampleType === 'progress')
  const accuracy = preference.filter((s) => (read(s.framesA) > read(s.framesB) ? 'A' : 'B') === s.answer).length / preference.length
  const mae = progress.reduce((sum, s) => sum + Math.abs(read(s.framesA) - s.progressA), 0) / progress.length
  assert.ok(accuracy >= 0.97, `preference read from pixels: accuracy ${accuracy}`)
  assert.ok(mae <= 0.03, `progress read from pixels: MAE ${mae}`)
})
