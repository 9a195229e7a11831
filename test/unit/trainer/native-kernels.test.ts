import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {Rng, runTraining, selectBackend} from '../../../src/trainer'
import {describeBackend} from '../../../src/trainer/backend'
import {loadNativeKernels, NATIVE_MODULE} from '../../../src/trainer/native-kernels'
import {MemoryCheckpoints, trainerContext} from '../../helpers/trainer-context'

const root = path.resolve(__dirname, '..', '..', '..', '..')
const built = existsSync(NATIVE_MODULE)
const skip = built ? false : `${NATIVE_MODULE} not built (no C compiler when \`npm run compile\` ran)`
const openBlas = ['/usr/lib/x86_64-linux-gnu/libopenblas.so.0', '/usr/lib/aarch64-linux-gnu/libopenblas.so.0'].some((f) => existsSync(f))

/** op(A)·op(B) in float64 from the float32 inputs: an independent reference for the products. */
function reference(a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], ta: boolean, tb: boolean): {values: number[]; shape: number[]} {
  const [ra, rb] = [aShape.length, bShape.length]
  const m = ta ? aShape[ra - 1] : aShape[ra - 2]
  const k = ta ? aShape[ra - 2] : aShape[ra - 1]
  const n = tb ? bShape[rb - 2] : bShape[rb - 1]
  const countA = a.length / (m * k)
  const countB = b.length / (k * n)
  const count = Math.max(countA, countB)
  const values: number[] = []
  for (let i = 0; i < count; i++) {
    const ao = countA === 1 ? 0 : i * m * k
    const bo = countB === 1 ? 0 : i * k * n
    for (let r = 0; r < m; r++)
      for (let c = 0; c < n; c++) {
        let s = 0
        for (let j = 0; j < k; j++) s += a[ao + (ta ? j * m + r : r * k + j)] * b[bo + (tb ? c * k + j : j * n + c)]
        values.push(s)
      }
  }
  const lead = (countA >= countB ? aShape : bShape).slice(0, -2)
  return {values, shape: [...lead, m, n]}
}

test('native products: every transpose flag, batched and broadcast operands, against a float64 reference', {skip}, async () => {
  const backend = await selectBackend('wasm')
  const {tf} = backend
  if (openBlas) assert.match(describeBackend(backend), /products: OpenBLAS/)
  const rng = new Rng(3)
  const cases: [number[], number[], boolean, boolean][] = [
    [[5, 7], [7, 3], false, false],
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[2, 3, 5, 7], [2, 3, 7, 4], false, false],
    [[2, 3, 7, 5], [2, 3, 4, 7], true, true],
    [[4, 5, 7], [7, 3], false, false],
    [[5, 7], [4, 7, 3], false, false],
    [[4, 7, 5], [1, 3, 7], true, true],
    [[64, 33], [33, 130], false, false],
  ]
  for (const [aShape, bShape, ta, tb] of cases) {
    const a = Float32Array.from({length: aShape.reduce((x, y) => x * y, 1)}, () => rng.normal())
    const b = Float32Array.from({length: bShape.reduce((x, y) => x * y, 1)}, () => rng.normal())
    const got = tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), ta, tb)
    const want = reference(a, aShape, b, bShape, ta, tb)
    const label = `${aShape}${ta ? 'ᵀ' : ''} × ${bShape}${tb ? 'ᵀ' : ''}`
    assert.deepEqual(got.shape, want.shape, label)
    const values = got.dataSync()
    const worst = want.values.reduce((w, v, i) => Math.max(w, Math.abs(values[i] - v)), 0)
    assert.ok(worst < 1e-4, `${label}: max error ${worst}`)
  }
  // an output that grows the wasm heap (the old ArrayBuffer is detached): the kernel reads the heap after allocating
  const heapBefore = (tf.engine().backend as unknown as {wasm: {HEAPU8: Uint8Array}}).wasm.HEAPU8.byteLength
  const rows = Math.ceil(heapBefore / 4 / 1024) + 16
  const big = tf.matMul(tf.ones([rows, 2]), tf.fill([2, 1024], 0.5))
  assert.ok((tf.engine().backend as unknown as {wasm: {HEAPU8: Uint8Array}}).wasm.HEAPU8.byteLength > heapBefore, 'the heap grew')
  const bigValues = big.dataSync()
  assert.equal(bigValues[0], 1)
  assert.equal(bigValues[bigValues.length - 1], 1)
  big.dispose()
  // an empty inner dimension is a product of zeros, and a repeated product is bitwise the same
  assert.deepEqual(Array.from(tf.matMul(tf.zeros([2, 0]), tf.zeros([0, 3])).dataSync()), [0, 0, 0, 0, 0, 0])
  const x = tf.randomNormal([48, 96], 0, 1, 'float32', 5)
  const w = tf.randomNormal([96, 40], 0, 1, 'float32', 6)
  assert.deepEqual(Array.from(tf.matMul(x, w).dataSync()), Array.from(tf.matMul(x, w).dataSync()))
})

test('native row gather: bitwise the table rows, any index shape; an index out of range still gets tfjs’s error', {skip}, async () => {
  const {tf} = await selectBackend('wasm')
  const rng = new Rng(4)
  const table = Float32Array.from({length: 50 * 6}, () => rng.normal())
  const idx = [
    [3, 0],
    [49, 3],
  ]
  const got = tf.gather(tf.tensor2d(table, [50, 6]), tf.tensor2d(idx, [2, 2], 'int32'))
  assert.deepEqual(got.shape, [2, 2, 6])
  assert.deepEqual(
    Array.from(got.dataSync()),
    idx.flat().flatMap((i) => Array.from(table.subarray(6 * i, 6 * i + 6))),
  )
  const before = tf.engine().backend.numDataIds()
  assert.throws(() => tf.gather(tf.tensor2d(table, [50, 6]), tf.tensor1d([50], 'int32')), /not in \[0, 49\]/)
  assert.ok(tf.engine().backend.numDataIds() <= before + 2, 'the unused output is freed')
})

test('the native kernels refuse operands outside the heap instead of reading past it', {skip}, () => {
  const {kernels} = loadNativeKernels()
  assert.ok(kernels)
  const heap = new ArrayBuffer(64)
  // 4×4 floats at offset 16 end at byte 80 > 64
  assert.throws(() => kernels.sumRows(heap, Int32Array.from([4, 4, 16, 0])), /outside the heap/)
  assert.throws(() => kernels.gatherRows(heap, Int32Array.from([1, 4, 4, 0, 64, 0])), /outside the heap/)
  assert.throws(() => kernels.sumRows(heap, Int32Array.from([1, 1])), /Int32Array/)
  if (kernels.info().available) assert.throws(() => kernels.sgemm(heap, Int32Array.from([1, 0, 0, 4, 4, 4, 0, 0, 0, 0, 8, 0, 0])), /outside the heap/)
})

/** describeBackend(selectBackend('wasm')) in a child process with this environment. */
const childScript = `require(${JSON.stringify(path.join(root, 'dist/src/trainer/backend.js'))}).selectBackend('wasm').then((b) => console.log(require(${JSON.stringify(path.join(root, 'dist/src/trainer/backend.js'))}).describeBackend(b), '| OPENBLAS_NUM_THREADS=' + (process.env.OPENBLAS_NUM_THREADS ?? 'unset')), (e) => { console.error(e.message); process.exit(3) })`

function childBackend(env: Record<string, string>): {status: number | null; out: string} {
  const run = spawnSync(process.execPath, ['-e', childScript], {encoding: 'utf8', env: {...process.env, ...env}})
  return {status: run.status, out: `${run.stdout}${run.stderr}`}
}

test('RFM_NATIVE: off keeps tfjs’s products, on fails clearly when OpenBLAS cannot load, anything else is refused', {skip}, () => {
  if (openBlas) {
    // OpenBLAS loads with one thread, and the variable that asks for it is not left for the commands rfm starts
    const {OPENBLAS_NUM_THREADS: _unused, ...env} = process.env
    const run = spawnSync(process.execPath, ['-e', childScript], {encoding: 'utf8', env: {...env, RFM_NATIVE: 'on'}})
    assert.match(`${run.stdout}${run.stderr}`, /products: OpenBLAS .*\| OPENBLAS_NUM_THREADS=unset/)
  }
  const off = childBackend({RFM_NATIVE: 'off'})
  assert.equal(off.status, 0, off.out)
  assert.match(off.out, /products: tfjs \(RFM_NATIVE=off\)/)
  const missing = childBackend({RFM_NATIVE: 'on', RFM_OPENBLAS: '/nonexistent/libopenblas.so.0'})
  assert.equal(missing.status, 3, missing.out)
  assert.match(missing.out, /RFM_NATIVE=on: OpenBLAS did not load: .*nonexistent/)
  const fallback = childBackend({RFM_NATIVE: 'auto', RFM_OPENBLAS: '/nonexistent/libopenblas.so.0'})
  assert.equal(fallback.status, 0, fallback.out)
  assert.match(fallback.out, /products: tfjs \(OpenBLAS did not load/)
  const bad = childBackend({RFM_NATIVE: 'fast'})
  assert.equal(bad.status, 3)
  assert.match(bad.out, /RFM_NATIVE must be auto, off or on, got "fast"/)
})

test('build-native: without a C compiler it says so in one line and leaves no module; with one it builds a module that loads', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-native-'))
  try {
    const out = path.join(dir, 'rfm_native.node')
    const script = path.join(root, 'scripts', 'build-native.js')
    const none = spawnSync(process.execPath, [script, '--out', out], {encoding: 'utf8', env: {...process.env, CC: path.join(dir, 'no-such-cc')}})
    assert.equal(none.status, 0, none.stderr)
    assert.match(none.stdout, /native kernels not built \(.*no C compiler\); the trainer uses tfjs-wasm's own kernels/)
    assert.equal(existsSync(out), false)
    if (!built) return // this machine has no compiler either
    const real = spawnSync(process.execPath, [script, '--out', out], {encoding: 'utf8'})
    assert.equal(real.status, 0, real.stdout + real.stderr)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    assert.equal(typeof (require(out) as {sgemm: unknown}).sgemm, 'function')
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

test('checkpoints record who computed the products; resuming with the other provider says so', {skip: skip || (!openBlas && 'no OpenBLAS here')}, async () => {
  const config = {
    trainer: {backend: 'wasm', seed: 2, max_steps: 4, batch_size: 2, lr: 3e-3, save_steps: 2, tensorboard: false},
    model: {width: 32, depth: 1, heads: 2, context_length: 32, vision: {image_size: 8, patch_size: 4, width: 16, depth: 1, heads: 2}},
    task: {train_size: 8, eval_size: 2, seed: 1},
  }
  const checkpoints = new MemoryCheckpoints()
  await runTraining(trainerContext(config, checkpoints, {stopAfterSteps: 2}))
  assert.equal(checkpoints.saved.at(-1)!.state.products, 'openblas')
  // as if written with tfjs-wasm's products (or before they were recorded: a wasm checkpoint without the key)
  for (const c of checkpoints.saved) delete c.state.products
  const resumed = trainerContext(config, checkpoints)
  await runTraining(resumed)
  assert.match(resumed.logs.join('\n'), /checkpoint was written with tfjs matrix products, resuming with openblas/)
  assert.equal(checkpoints.saved.at(-1)!.state.products, 'openblas')
})
