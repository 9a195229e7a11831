import assert from 'node:assert/strict'
import {test} from 'node:test'

import {runTraining, selectBackend} from '../../../src/trainer'
import {decodeSafetensors} from '../../../src/trainer/formats/safetensors'
import {MemoryCheckpoints, trainerContext} from '../../helpers/trainer-context'

/** LM with LoRA (dropout on, so the RNG matters) and a frozen vision tower, grad accumulation 2, cosine. */
function config(backend: string) {
  return {
    trainer: {
      backend,
      seed: 11,
      max_steps: 14,
      batch_size: 4,
      grad_accum: 2,
      lr: 2e-3,
      max_grad_norm: 0.5,
      freeze_vision_tower: true,
      param_groups: [{name: 'head', patterns: ['heads.lm'], lr: 4e-3}],
      lora: {rank: 4, alpha: 8, dropout: 0.1, target_modules: ['q', 'v', 'fc1'], modules_to_save: ['heads.lm']},
      scheduler: {kind: 'cosine', warmup_ratio: 0.2, min_lr: 1e-4},
      save_steps: 3,
      eval_steps: 5,
      tensorboard: false,
    },
    model: {width: 32, depth: 2, heads: 2, context_length: 8, dropout: 0.1, vision: {image_size: 8, patch_size: 4, width: 32, depth: 1, heads: 2}},
    // 40 samples / (4 × 2) = 5 steps per epoch: 14 steps cross two epoch boundaries
    task: {train_size: 40, eval_size: 8, seed: 3},
  }
}

const lossCurve = (metrics: {step: number; values: Record<string, number>}[]) => metrics.filter((m) => 'loss' in m.values).map((m) => [m.step, m.values.loss, m.values.grad_norm, m.values.lr])

async function uninterrupted(backend: string) {
  const checkpoints = new MemoryCheckpoints()
  const ctx = trainerContext(config(backend), checkpoints)
  const result = await runTraining(ctx)
  assert.equal(result.finished, true)
  return {checkpoints, curve: lossCurve(ctx.metrics), metrics: ctx.metrics, final: checkpoints.saved.at(-1)!}
}

for (const backend of ['wasm', 'cpu']) {
  test(`${backend}: stopped and resumed runs end bitwise equal to an uninterrupted run`, async () => {
    const reference = await uninterrupted(backend)
    assert.equal(reference.final.final, true)
    assert.equal(reference.curve.length, 14)
    const logged = reference.metrics.find((m) => m.step === 7)!.values
    assert.ok(logged.lr > 0 && Math.abs(logged.lr_head / logged.lr - 2) < 1e-9, 'a parameter group runs at its own rate on the same schedule')

    const checkpoints = new MemoryCheckpoints()
    const curve: unknown[] = []
    // stop at step 4 (between saves), at step 6 (right on a save_steps boundary), then at step 10
    let attempts = 0
    for (const stopAfter of [4, 2, 4, undefined]) {
      attempts += 1
      const ctx = trainerContext(config(backend), checkpoints, {stopAfterSteps: stopAfter})
      const result = await runTraining(ctx)
      curve.push(...lossCurve(ctx.metrics))
      assert.equal(result.stopped, stopAfter !== undefined)
      if (attempts > 1) assert.match(ctx.logs.join('\n'), /resumed from checkpoint at step \d+/)
    }
    assert.deepEqual(
      checkpoints.saved.map((c) => c.step),
      [3, 4, 6, 9, 10, 12, 14],
      'save_steps, stop saves, final; no duplicate save on a boundary',
    )
    assert.deepEqual(curve, reference.curve, 'identical loss, grad_norm and lr at every step')
    const final = checkpoints.saved.at(-1)!
    for (const name of ['model.safetensors', 'optimizer.safetensors', 'merged.safetensors', 'tokenizer.json']) {
      assert.ok(Buffer.from(final.files[name]).equals(Buffer.from(reference.final.files[name])), `${name} is bitwise equal`)
    }
    const {epoch, epoch_position, global_step} = final.state as Record<string, number>
    assert.deepEqual({epoch, epoch_position, global_step}, {epoch: 2, epoch_position: 32, global_step: 14})
    // a retry after the run finished trains nothing and writes nothing
    const again = await runTraining(trainerContext(config(backend), checkpoints))
    assert.deepEqual([again.finished, again.step, checkpoints.saved.length], [true, 14, 7])
  })
}

test('a hard kill (work after the last checkpoint lost) still converges to the same bits; no tensors leak', async () => {
  const {tf} = await selectBackend('wasm')
  const tensorsBefore = tf.memory().numTensors
  const reference = await uninterrupted('wasm')
  const checkpoints = new MemoryCheckpoints()
  // run to step 8 and stop (checkpoints at 3, 6, 8), then forget the step-8 save as if the process had been SIGKILLed after step 6's
  await runTraining(trainerContext(config('wasm'), checkpoints, {stopAfterSteps: 8}))
  assert.deepEqual(
    checkpoints.saved.map((c) => c.step),
    [3, 6, 8],
  )
  checkpoints.saved.pop()
  const ctx = trainerContext(config('wasm'), checkpoints)
  await runTraining(ctx)
  assert.equal(lossCurve(ctx.metrics)[0][0], 7, 'resumes after step 6')
  assert.deepEqual(lossCurve(ctx.metrics), reference.curve.slice(6))
  assert.ok(Buffer.from(checkpoints.saved.at(-1)!.files['model.safetensors']).equals(Buffer.from(reference.final.files['model.safetensors'])))
  assert.equal(tf.memory().numTensors, tensorsBefore, 'three runs leave no tensors behind')
})

test('frozen vision tower and LoRA base weights do not move; adapters do; merge-on-export folds them in', async () => {
  const {checkpoints, final} = await uninterrupted('wasm')
  const first = decodeSafetensors(checkpoints.saved[0].files['model.safetensors']).tensors
  const last = decodeSafetensors(final.files['model.safetensors']).tensors
  const same = (name: string) => Buffer.from(first[name].bytes).equals(Buffer.from(last[name].bytes))
  for (const name of Object.keys(last)) {
    if (name.startsWith('vision.')) assert.ok(same(name), `${name} is frozen`)
    else if (name.includes('lora_') || name.startsWith('heads.lm')) assert.ok(!same(name), `${name} trains`)
    else assert.ok(same(name), `${name} is a LoRA base weight or untargeted: frozen`)
  }
  const merged = decodeSafetensors(final.files['merged.safetensors']).tensors
  assert.ok(!Object.keys(merged).some((n) => n.includes('lora_')), 'no adapter tensors in the export')
  assert.ok(!Buffer.from(merged['text.blocks.0.attn.q.weight'].bytes).equals(Buffer.from(last['text.blocks.0.attn.q.weight'].bytes)), 'adapters merged into targets')
  assert.ok(Buffer.from(merged['text.blocks.0.attn.k.weight'].bytes).equals(Buffer.from(last['text.blocks.0.attn.k.weight'].bytes)), 'untargeted weights unchanged')
})
