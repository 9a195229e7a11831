import assert from 'node:assert/strict'
import {test} from 'node:test'

import {Rng, selectBackend} from '../../../src/trainer'

test('wasm Identity shares the buffer: a clone keeps its values after the original is disposed, and frees with the last reference', async () => {
  const {tf} = await selectBackend('wasm')
  const before = tf.memory().numTensors
  const buffers = tf.engine().backend.numDataIds()
  const x = tf.tensor1d([1.5, -2, 3])
  const y = tf.clone(x)
  x.dispose()
  assert.deepEqual(Array.from(y.dataSync()), [1.5, -2, 3])
  y.dispose()
  assert.equal(tf.memory().numTensors, before)
  assert.equal(tf.engine().backend.numDataIds(), buffers, 'the shared buffer is freed')
})

test('wasm Sum over leading axes (no transpose): bitwise the sum of the transposed input, any rank, keepDims', async () => {
  const {tf} = await selectBackend('wasm')
  const rng = new Rng(8)
  for (const [shape, axes] of [
    [
      [16, 32, 24],
      [0, 1],
    ],
    [[50, 7], [0]],
    [
      [3, 4, 5, 6],
      [0, 1, 2],
    ],
    [
      [3, 4, 5, 6],
      [1, 0],
    ],
  ] as [number[], number[]][]) {
    const x = tf.tensor(
      Float32Array.from({length: shape.reduce((a, b) => a * b, 1)}, () => rng.normal() * 100),
      shape,
    )
    const rows = axes.reduce((a, i) => a * shape[i], 1)
    // the stock kernel's path: the reduced axes moved innermost, then an innermost sum
    const reference = tf.sum(tf.transpose(tf.reshape(x, [rows, -1])), 1)
    for (const keepDims of [false, true]) {
      const y = tf.sum(x, axes, keepDims)
      assert.deepEqual(
        y.shape,
        shape.map((d, i) => (axes.includes(i) ? 1 : d)).filter((d, i) => keepDims || !axes.includes(i)),
      )
      assert.deepEqual(Array.from(y.dataSync()), Array.from(reference.dataSync()), `${shape} over ${axes}`)
    }
  }
})
