import assert from 'node:assert/strict'
import {test} from 'node:test'

import {Rng} from '../src/trainer'
import {rmEval} from './helpers/rm-eval-plugin'
import {MemoryCheckpoints, trainerContext} from './helpers/trainer-context'

// CPU budget (wasm backend, one thread): 240 steps of batch 16 (≈ 35 s; 0.984 held-out), and 260 steps of
// batch 16 with one irrelevant-query pair per sample (≈ 60 s; mismatched 1.00, normal 0.969), for a 2-layer
// width-64 VLM on 16×16 images. Fewer steps (180 / 210) fall short of the thresholds.
const base = {
  per_device_train_batch_size: 16,
  learning_rate: 2e-3,
  warmup_steps: 10,
  builtin: {seed: 3, max_steps: 240, data: {train_size: 4096, eval_size: 256, seed: 11}},
}

test('generated preference pairs: rejected differs from chosen in exactly one attribute; irrelevant queries name another colour', () => {
  for (let i = 0; i < 200; i++) {
    const p = rmEval.data.preferencePair(Rng, 1, i, 16)
    const [c, r] = [p.chosen.split(' '), p.rejected.split(' ')]
    assert.equal(c.filter((w, k) => w !== r[k]).length, 1, `${p.chosen} vs ${p.rejected}`)
    const q = rmEval.data.irrelevantPair(Rng, 1, i, 0, 16)
    assert.deepEqual(q.image, p.image)
    assert.equal(q.chosen, rmEval.data.NO_MATCH)
    assert.notEqual(q.query.split(' ')[2], c[1], 'the irrelevant query names a colour the image does not have')
  }
})

test('the built-in reward model learns generated preferences to ≥ 0.95 held-out accuracy', async (t) => {
  const result = await rmEval.train.trainRewardModel(rmEval.api, trainerContext(base, new MemoryCheckpoints()))
  const m = result.evalMetrics!
  t.diagnostic(`held-out after ${result.step} steps: ${JSON.stringify(m)}`)
  assert.ok(m.eval_accuracy >= 0.95, `held-out preference accuracy ${m.eval_accuracy}`)
  assert.ok(m.eval_margin > 0)
})

test('with irrelevant-query augmentation it ranks "does not match" first on mismatched pairs and keeps the normal set', async (t) => {
  const config = {...base, use_irrelevant_queries: true, num_irrelevant_pairs: 1, irrelevant_loss_weight: 1, center_rewards_coefficient: 0.01, builtin: {...base.builtin, max_steps: 260}}
  const result = await rmEval.train.trainRewardModel(rmEval.api, trainerContext(config, new MemoryCheckpoints()))
  const m = result.evalMetrics!
  t.diagnostic(`held-out after ${result.step} steps: ${JSON.stringify(m)}`)
  assert.ok(m.eval_irrelevant_accuracy >= 0.9, `mismatched pairs ranked right: ${m.eval_irrelevant_accuracy}`)
  assert.ok(m.eval_accuracy >= 0.93, `normal held-out accuracy ${m.eval_accuracy}`)
})

test('a reward-model run stopped and resumed ends bitwise equal to an uninterrupted one', async () => {
  const config = {per_device_train_batch_size: 4, use_irrelevant_queries: true, margin: 0.5, center_rewards_coefficient: 0.1, disable_dropout: false, save_steps: 3, builtin: {seed: 9, max_steps: 10, model: {width: 32, heads: 2, vision_width: 32}, data: {train_size: 24, eval_size: 8}}}
  const full = new MemoryCheckpoints()
  const reference = await rmEval.train.trainRewardModel(rmEval.api, trainerContext(config, full))
  const store = new MemoryCheckpoints()
  const first = await rmEval.train.trainRewardModel(rmEval.api, trainerContext(config, store, {stopAfterSteps: 4}))
  assert.equal(first.finished, false)
  const second = await rmEval.train.trainRewardModel(rmEval.api, trainerContext(config, store))
  assert.equal(second.finished, true)
  assert.equal(second.step, reference.step)
  const a = full.saved.at(-1)!.files
  const b = store.saved.at(-1)!.files
  for (const name of ['model.safetensors', 'optimizer.safetensors']) assert.ok(Buffer.from(a[name]).equals(Buffer.from(b[name])), `${name} differs`)
})
