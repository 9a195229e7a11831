import assert from 'node:assert/strict'
import {test} from 'node:test'

import {Rng, selectBackend, Vlm} from '../../../src/trainer'
import type {ModelConfig} from '../../../src/trainer'

const config = (extra: Partial<ModelConfig> = {}, vision: Partial<NonNullable<ModelConfig['vision']>> = {}): ModelConfig => ({
  vocabSize: 12,
  width: 16,
  depth: 2,
  heads: 2,
  mlpRatio: 2,
  contextLength: 6,
  dropout: 0,
  outputs: ['lm'],
  vision: {imageSize: 8, channels: 3, patchSize: 4, width: 16, depth: 1, heads: 2, frames: 2, ...vision},
  ...extra,
})

const std = (values: Float32Array) => {
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length)
}

test("linear weights start at GPT-2's N(0, 0.02) by default and at N(0, 1/fan_in) with linearInit 'fan_in'", async () => {
  const {tf} = await selectBackend('cpu')
  const wide = {width: 64, heads: 4}
  const gpt2 = new Vlm(tf, config(wide), new Rng(1))
  const fanIn = new Vlm(tf, config({...wide, linearInit: 'fan_in'}), new Rng(1))
  const fc1 = 'text.blocks.0.mlp.fc1.weight'
  assert.ok(Math.abs(std(gpt2.store.get(fc1).dataSync() as Float32Array) - 0.02) < 0.002)
  assert.ok(Math.abs(std(fanIn.store.get(fc1).dataSync() as Float32Array) - 1 / 8) < 0.01)
  // embeddings and layer norms are not linear weights: unchanged
  assert.deepEqual(gpt2.store.get('text.embed.weight').dataSync(), fanIn.store.get('text.embed.weight').dataSync())
  gpt2.dispose()
  fanIn.dispose()
})

test('frameMask hides empty frame slots from the text model: their pixels no longer change any output', async () => {
  const {tf} = await selectBackend('cpu')
  const model = new Vlm(tf, config({linearInit: 'fan_in'}), new Rng(2))
  const patchLen = 4 * 4 * 3
  const tokens = tf.tensor2d([[1, 5, 6, 7, 2, 0]], [1, 6], 'int32')
  const image = (seed: number) => Float32Array.from({length: 4 * patchLen}, (_, i) => ((i * 7919 + seed * 104729) % 97) / 97)
  const logits = (second: Float32Array, frameMask?: number[]) =>
    tf.tidy(() => model.forward({tokens, patches: tf.tensor3d([...image(1), ...second], [1, 8, patchLen]), frameMask}, false).logits!.dataSync() as Float32Array)
  const blank = new Float32Array(4 * patchLen)
  const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0)
  assert.ok(maxDiff(logits(blank), logits(image(3))) > 1e-4, 'unmasked, the second slot matters')
  assert.ok(maxDiff(logits(blank, [1, 0]), logits(image(3), [1, 0])) < 1e-6, 'masked, it does not')
  assert.ok(maxDiff(logits(blank, [1, 1]), logits(blank)) < 1e-6, 'an all-present mask is the same as none')
  assert.throws(() => logits(blank, [1]), /frameMask has 1 entries, expected 2/)
  tokens.dispose()
  model.dispose()
})

test('promptFilm: the image tokens depend on the prompt but never on the answer tokens after it, and start as the identity', async () => {
  const {tf} = await selectBackend('cpu')
  const model = new Vlm(tf, config({linearInit: 'fan_in'}, {frames: 1, promptFilm: true}), new Rng(3))
  const plain = new Vlm(tf, config({linearInit: 'fan_in'}, {frames: 1}), new Rng(3))
  const patchLen = 4 * 4 * 3
  const patches = Float32Array.from({length: 4 * patchLen}, (_, i) => ((i * 31) % 17) / 17)
  const prefix = 4
  // the last image token's hidden state: everything the image tells the text model
  const imageOut = (m: Vlm, tokens: number[], promptLength: number) =>
    tf.tidy(() => {
      const out = m.forward({tokens: tf.tensor2d([tokens], [1, 6], 'int32'), patches: tf.tensor3d(patches, [1, 4, patchLen]), promptLengths: [promptLength]}, false)
      return tf.slice(out.hidden, [0, prefix - 1, 0], [1, 1, -1]).dataSync() as Float32Array
    })
  const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0)
  assert.ok(maxDiff(imageOut(model, [1, 5, 6, 7, 2, 0], 3), imageOut(plain, [1, 5, 6, 7, 2, 0], 3)) < 1e-6, 'zero-initialised: the identity')
  // give the modulation weights values, as training would
  const w = model.store.get('vision.film.weight')
  w.assign(tf.randomNormal(w.shape, 0, 0.1, 'float32', 4))
  assert.ok(maxDiff(imageOut(model, [1, 5, 6, 7, 2, 0], 3), imageOut(model, [1, 5, 8, 7, 2, 0], 3)) > 1e-4, 'a different prompt word changes the image tokens')
  assert.ok(maxDiff(imageOut(model, [1, 5, 6, 7, 2, 0], 3), imageOut(model, [1, 5, 6, 9, 3, 0], 3)) < 1e-6, 'answer tokens (past the prompt) do not')
  assert.throws(() => model.forward({tokens: tf.tensor2d([[1, 5, 6, 7, 2, 0]], [1, 6], 'int32'), patches: tf.tensor3d(patches, [1, 4, patchLen])}, false), /promptLengths/)
  model.dispose()
  plain.dispose()
})
