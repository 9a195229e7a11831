import assert from 'node:assert/strict'
import {test} from 'node:test'

import {trainer as trainerCore, MemoryCheckpoints, trainerContext} from '@rfm/plugin-kit/testing'
import {rmEval} from '../plugin'

// CPU budget (wasm backend, one thread): 260 steps of batch 16 with one irrelevant-query pair per sample
// (≈ 60 s; mismatched 1.00, normal 0.969) for a 2-layer width-64 VLM on 16×16 images. Without augmentation
// 240 steps reach 0.984 (≈ 35 s). Fewer steps (180 / 210) or width 32 (0.75 after 240) fall short.
// data parallel over the cores this process may use (trainer.workers auto); RFM_TEST_WORKERS=1 forces one thread
const WORKERS = process.env.RFM_TEST_WORKERS ? Number(process.env.RFM_TEST_WORKERS) : 'auto'
const base = {
  per_device_train_batch_size: 16,
  learning_rate: 2e-3,
  warmup_steps: 10,
  max_steps: 240,
  builtin: {seed: 3, workers: WORKERS, data: {train_size: 4096, eval_size: 256, seed: 11}},
}

test('generated preference pairs: rejected differs from chosen in exactly one attribute; irrelevant queries name another colour', () => {
  for (let i = 0; i < 200; i++) {
    const p = rmEval.data.preferencePair(trainerCore, 1, i, 16)
    const [c, r] = [p.chosen.split(' '), p.rejected.split(' ')]
    assert.equal(c.filter((w, k) => w !== r[k]).length, 1, `${p.chosen} vs ${p.rejected}`)
    const q = rmEval.data.irrelevantPair(trainerCore, 1, i, 0, 16)
    assert.deepEqual(q.image, p.image)
    assert.equal(q.chosen, rmEval.data.NO_MATCH)
    assert.notEqual(q.query.split(' ')[2], c[1], 'the irrelevant query names a colour the image does not have')
  }
})

// One run carries all three acceptance figures: with augmentation the normal held-out set still
// reaches ≥ 0.95 (the plain model's bar, stricter than the 0.93 asked of augmented runs), so a
// separate plain run (≈ 35 s more) adds no check.
test('the built-in reward model learns generated preferences (≥ 0.95 held-out) and, with irrelevant-query augmentation, ranks "does not match" first on ≥ 0.9 of mismatched pairs', async (t) => {
  const config = {...base, use_irrelevant_queries: true, num_irrelevant_pairs: 1, irrelevant_loss_weight: 1, center_rewards_coefficient: 0.01, max_steps: 260}
  const result = await rmEval.train.trainRewardModel(rmEval.api, trainerContext(config, new MemoryCheckpoints()))
  const m = result.evalMetrics!
  t.diagnostic(`held-out after ${result.step} steps: ${JSON.stringify(m)}`)
  assert.ok(m.eval_irrelevant_accuracy >= 0.9, `mismatched pairs ranked right: ${m.eval_irrelevant_accuracy}`)
  assert.ok(m.eval_accuracy >= 0.95, `normal held-out accuracy ${m.eval_accuracy} (≥ 0.95; ≥ 0.93 is asked of augmented runs)`)
  assert.ok(m.eval_margin > 0)
})

test('a reward-model run stopped and resumed ends bitwise equal to an uninterrupted one', async () => {
  const config = {
    per_device_train_batch_size: 4,
    use_irrelevant_queries: true,
    margin: 0.5,
    center_rewards_coefficient: 0.1,
    disable_dropout: false,
    save_steps: 3,
    max_steps: 10,
    builtin: {seed: 9, model: {width: 32, heads: 2, vision_width: 32}, data: {train_size: 24, eval_size: 8}},
  }
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
