import assert from 'node:assert/strict'
import {test} from 'node:test'

import type * as tfTypes from '@tensorflow/tfjs-core'

import {builtinTrainingSchema, patchifyHost, Rng, runTraining, selectBackend, trainWith, TrainingTask, Vlm} from '../../../src/trainer'
import {makeVqaSample} from '../../../src/trainer/tasks/shapes-vqa'
import {MemoryCheckpoints, trainerContext} from '../../helpers/trainer-context'

const vision = {imageSize: 8, channels: 3, patchSize: 4, width: 16, depth: 1, heads: 2}

test('reward, regression and action-chunk heads have the configured shapes', async () => {
  const {tf} = await selectBackend('wasm')
  const model = new Vlm(
    tf,
    {
      vocabSize: 10,
      width: 16,
      depth: 1,
      heads: 2,
      mlpRatio: 2,
      contextLength: 6,
      dropout: 0,
      vision,
      outputs: ['lm', 'reward', 'regression', 'action'],
      regressionDim: 3,
      actionChunk: 4,
      actionDim: 2,
    },
    new Rng(1),
  )
  const out = tf.tidy(() => {
    const o = model.forward({tokens: tf.zeros([5, 6], 'int32'), patches: tf.zeros([5, 4, 48])}, false)
    return [o.logits!, o.reward!, o.regression!, o.actions!].map((t) => t.shape)
  })
  assert.deepEqual(out, [[5, 6, 10], [5], [5, 3], [5, 4, 2]])
  model.dispose()
})

/** A plugin-style task: regress the image's mean red level from the image (scalar reward head). */
class RednessTask implements TrainingTask {
  readonly trainSize = 256
  constructor(
    private readonly tf: typeof tfTypes,
    private readonly model: Vlm,
  ) {}

  private batch(indices: number[]) {
    const samples = indices.map((i) => makeVqaSample(4, i, 8))
    const targets = samples.map((s) => s.image.filter((_, j) => j % 3 === 0).reduce((a, b) => a + b, 0) / 64)
    return {
      patches: this.tf.tensor3d(
        patchifyHost(
          samples.map((s) => s.image),
          vision,
        ),
        [indices.length, 4, 48],
      ),
      targets: this.tf.tensor1d(targets),
    }
  }

  loss(model: Vlm, indices: number[]): tfTypes.Scalar {
    const tf = this.tf
    const b = this.batch(indices)
    const out = model.forward({tokens: tf.zeros([indices.length, 1], 'int32'), patches: b.patches}, true)
    return tf.mean(tf.square(tf.sub(out.reward!, tf.mul(b.targets, 10)))) as tfTypes.Scalar
  }

  evaluate(model: Vlm): Record<string, number> {
    const loss = this.tf.tidy(
      () =>
        this.loss(
          model,
          Array.from({length: 64}, (_, i) => 1000 + i),
        ).dataSync()[0],
    )
    return {eval_loss: loss}
  }
}

test('a custom TrainingTask trains a scalar head through the same loop', async () => {
  const backend = await selectBackend('wasm')
  const cfg = builtinTrainingSchema.parse({trainer: {max_steps: 60, batch_size: 16, lr: 3e-3, tensorboard: false}})
  const model = new Vlm(backend.tf, {vocabSize: 4, width: 16, depth: 1, heads: 2, mlpRatio: 2, contextLength: 1, dropout: 0, vision, outputs: ['reward']}, new Rng(2))
  const task = new RednessTask(backend.tf, model)
  const before = task.evaluate(model).eval_loss
  const result = await trainWith(trainerContext(cfg, new MemoryCheckpoints()), {backend, model, task, trainer: cfg.trainer})
  assert.ok(result.evalMetrics!.eval_loss < before / 3, `eval MSE ${before} → ${result.evalMetrics!.eval_loss}`)
  model.dispose()
})

test('a byte-level BPE tokenizer is fit, used and saved with the checkpoint', async () => {
  const checkpoints = new MemoryCheckpoints()
  const config = {
    trainer: {max_steps: 2, batch_size: 4, tensorboard: false},
    tokenizer: {kind: 'bpe', vocab_size: 300},
    model: {width: 16, depth: 1, heads: 2, context_length: 40, vision: {image_size: 8, width: 16, heads: 2}},
    task: {train_size: 16, eval_size: 4},
  }
  await runTraining(trainerContext(config, checkpoints))
  const saved = JSON.parse(Buffer.from(checkpoints.saved.at(-1)!.files['tokenizer.json']).toString())
  assert.equal(saved.kind, 'bpe')
  assert.ok(saved.merges.length > 0 && saved.merges.length <= 300 - 260)
  const modelConfig = JSON.parse(Buffer.from(checkpoints.saved.at(-1)!.files['model_config.json']).toString())
  assert.equal(modelConfig.vocabSize, 260 + saved.merges.length)
})
