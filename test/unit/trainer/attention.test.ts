import assert from 'node:assert/strict'
import {test} from 'node:test'

import {Rng, selectBackend, Vlm} from '../../../src/trainer'
import {tokenCrossEntropy} from '../../../src/trainer/task'

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
