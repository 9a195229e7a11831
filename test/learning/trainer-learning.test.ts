import assert from 'node:assert/strict'
import {test} from 'node:test'

import {builtinTrainingSchema, selectBackend, trainWith, Vlm, Rng, WordTokenizer, generate, vqaReplicaSpec} from '../../src/trainer'
import {loraConfig, modelConfig} from '../../src/trainer/config'
import {makeVqaSample, vqaCorpus} from '../../src/trainer/tasks/shapes-vqa'
import {VqaTask} from '../../src/trainer/tasks/vqa-task'
import {patchifyHost} from '../../src/trainer/nn/vlm'
import {BOS} from '../../src/trainer/tokenizer'
import {MemoryCheckpoints, trainerContext} from '../helpers/trainer-context'

test('a compact VLM learns generated visual questions from chance to high held-out accuracy', async () => {
  const cfg = builtinTrainingSchema.parse({
    trainer: {
      backend: 'auto',
      workers: process.env.RFM_TEST_WORKERS ? Number(process.env.RFM_TEST_WORKERS) : 'auto',
      seed: 5,
      max_steps: 180,
      batch_size: 32,
      lr: 1e-3,
      weight_decay: 0,
      scheduler: {kind: 'cosine', warmup_ratio: 0.1},
      tensorboard: false,
    },
    model: {width: 64, depth: 2, heads: 4, context_length: 8, vision: {image_size: 16, patch_size: 4, width: 64, depth: 1, heads: 4}},
    task: {train_size: 4096, eval_size: 200, seed: 9},
  })
  const backend = await selectBackend(cfg.trainer.backend)
  const tokenizer = WordTokenizer.fit(vqaCorpus())
  const model = new Vlm(backend.tf, modelConfig(cfg.model, tokenizer.vocabSize, ['lm']), new Rng(cfg.trainer.seed), loraConfig(cfg.trainer))
  const task = new VqaTask(tokenizer, model, {seed: cfg.task.seed, trainSize: cfg.task.train_size, evalSize: cfg.task.eval_size})
  const before = task.evaluate(model)
  const result = await trainWith(trainerContext(cfg, new MemoryCheckpoints()), {backend, model, task, tokenizer, trainer: cfg.trainer, replica: vqaReplicaSpec(cfg, tokenizer)})
  const after = result.evalMetrics!
  // four answers per question type: chance is 25 %
  assert.ok(before.eval_accuracy < 0.45, `untrained accuracy ${before.eval_accuracy}`)
  assert.ok(after.eval_accuracy >= 0.9, `held-out accuracy after training ${after.eval_accuracy} (before ${before.eval_accuracy})`)
  assert.ok(after.eval_loss < before.eval_loss / 4)

  // the trained model answers through greedy generation, too
  const samples = Array.from({length: 16}, (_, i) => makeVqaSample(cfg.task.seed, cfg.task.train_size + 500 + i, 16))
  let right = 0
  for (const question of ['what color is the square ?', 'where is the square ?']) {
    const group = samples.filter((s) => s.question === question)
    const prompts = group.map((s) => [BOS, ...tokenizer.encode(s.question)])
    const answers = generate(
      model,
      prompts,
      patchifyHost(
        group.map((s) => s.image),
        model.config.vision!,
      ),
      {maxNewTokens: 2, temperature: 0, topP: 1},
    )
    group.forEach((s, i) => (right += tokenizer.decode(answers[i]) === s.answer ? 1 : 0))
  }
  assert.ok(right >= 13, `greedy generation answered ${right}/16`)
  model.dispose()
})
