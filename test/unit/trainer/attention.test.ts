import assert from 'node:assert/strict'
import {test} from 'node:test'

import type * as tfTypes from '@tensorflow/tfjs-core'

import {Rng, selectBackend, Vlm} from '../../../src/trainer'
import {tokenCrossEntropy} from '../../../src/trainer/task'
import {headMatMul} from '../../../src/trainer/wasm-head-matmul'

// these tests are about tfjs-wasm's own products (XNNPACK per head vs a split); with the native
// kernels both attention modes run the same OpenBLAS sgemm per head (native-kernels.test.ts)
// (read when the first backend is selected, after these imports)
process.env.RFM_NATIVE = 'off'

test('per_head attention products: the same loss and gradients as batched ones, within float rounding', async () => {
  const {tf} = await selectBackend('wasm')
  const model = new Vlm(tf, {vocabSize: 20, width: 32, depth: 2, heads: 4, mlpRatio: 2, contextLength: 12, dropout: 0, outputs: ['lm']}, new Rng(1))
  const tokens = tf.tensor2d(
    Int32Array.from({length: 3 * 12}, (_, i) => (i * 7) % 20),
    [3, 12],
    'int32',
  )
  const targets = tf.tensor2d(
    Int32Array.from({length: 3 * 12}, (_, i) => (i * 5 + 1) % 20),
    [3, 12],
    'int32',
  )
  const names = model.store.names()
  const run = (attention: 'batched' | 'per_head') => {
    model.attentionProducts = attention
    const {value, grads} = tf.variableGrads(
      () => tf.tidy(() => tokenCrossEntropy(tf, model.forward({tokens}, true).logits!, targets, tf.ones([3, 12]))),
      names.map((n) => model.store.get(n)),
    )
    return {loss: value.dataSync()[0], grads: Object.values(grads).map((g) => g.dataSync() as Float32Array)}
  }
  const a = run('batched')
  const b = run('per_head')
  assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `${a.loss} vs ${b.loss}`)
  assert.equal(a.grads.length, b.grads.length)
  a.grads.forEach((g, i) => g.forEach((x, j) => assert.ok(Math.abs(x - b.grads[i][j]) < 1e-5 + 1e-4 * Math.abs(x), `gradient ${i}[${j}]: ${x} vs ${b.grads[i][j]}`)))
  model.dispose()
})

test('wasm SplitV (copies the input once): the same pieces as slices, any axis, equal and given sizes', async () => {
  const {tf} = await selectBackend('wasm')
  const x = tf.tensor3d(
    Float32Array.from({length: 4 * 6 * 5}, (_, i) => i * 0.5 - 7),
    [4, 6, 5],
  )
  for (const [splits, axis] of [
    [2, 0],
    [3, 1],
    [[1, 3, 1], 2],
    [[2, -1], 1],
  ] as [number | number[], number][]) {
    const pieces = tf.split(x, splits, axis)
    let at = 0
    for (const p of pieces) {
      const begin = [0, 0, 0]
      begin[axis] = at
      assert.deepEqual(Array.from(p.dataSync()), Array.from(tf.slice(x, begin, p.shape).dataSync()), `split ${JSON.stringify(splits)} on axis ${axis}`)
      at += p.shape[axis]
    }
  }
})

test('wasm RfmHeadMatMul: bitwise the products and gradients of a split into rank-2 products, no tensors left', async () => {
  const {tf} = await selectBackend('wasm')
  const rng = new Rng(4)
  const rand = (shape: number[]) =>
    tf.tensor(
      Float32Array.from({length: shape.reduce((x, y) => x * y, 1)}, () => rng.normal()),
      shape,
    )
  const a = rand([6, 20, 12])
  const b = rand([6, 12, 9])
  const dy = rand([6, 20, 9])
  const split = (x: tfTypes.Tensor, y: tfTypes.Tensor) => {
    const xs = tf.split(x, 6, 0)
    const ys = tf.split(y, 6, 0)
    return tf.concat(xs.map((p, i) => tf.reshape(tf.matMul(tf.reshape(p, [20, 12]), tf.reshape(ys[i], [12, 9])), [1, 20, 9])))
  }
  const before = tf.memory().numTensors
  const check = (f: (x: tfTypes.Tensor, y: tfTypes.Tensor) => tfTypes.Tensor) =>
    tf.tidy(() => {
      const [ga, gb] = tf.grads(f)([a, b], dy)
      return [f(a, b), ga, gb].map((t) => Array.from(t.dataSync()))
    })
  const fused = check((x, y) => headMatMul(tf, x, y))
  assert.deepEqual(fused, check(split))
  assert.equal(tf.memory().numTensors, before)
  for (const t of [a, b, dy]) t.dispose()
})
