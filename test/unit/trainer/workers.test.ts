import assert from 'node:assert/strict'
import {test} from 'node:test'

import {runTraining} from '../../../src/trainer'
import {decodeSafetensors} from '../../../src/trainer/formats/safetensors'
import {shards} from '../../../src/trainer/parallel/replica'
import {MemoryCheckpoints, trainerContext} from '../../helpers/trainer-context'

/** Text-and-vision LM, LoRA with dropout (the shard RNGs matter), grad accumulation 2, 10 steps crossing an epoch. */
function config(workers: number | 'auto', dropout = 0.1) {
  return {
    trainer: {
      backend: 'wasm',
      workers,
      seed: 11,
      max_steps: 10,
      batch_size: 6,
      grad_accum: 2,
      lr: 2e-3,
      max_grad_norm: 0.5,
      lora: {rank: 4, alpha: 8, dropout, target_modules: ['q', 'v', 'fc1'], modules_to_save: ['heads.lm']},
      scheduler: {kind: 'cosine', warmup_ratio: 0.2},
      save_steps: 3,
      tensorboard: false,
    },
    model: {width: 32, depth: 2, heads: 2, context_length: 8, dropout, vision: {image_size: 8, patch_size: 4, width: 32, depth: 1, heads: 2}},
    task: {train_size: 60, eval_size: 8, seed: 3},
  }
}

const losses = (ctx: ReturnType<typeof trainerContext>) => ctx.metrics.filter((m) => 'loss' in m.values).map((m) => m.values.loss)

async function run(cfg: ReturnType<typeof config>, checkpoints = new MemoryCheckpoints(), stopAfterSteps?: number) {
  const ctx = trainerContext(cfg, checkpoints, {stopAfterSteps})
  const result = await runTraining(ctx)
  return {result, ctx, checkpoints, files: checkpoints.saved.at(-1)!.files}
}

function weights(files: Record<string, Uint8Array>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>()
  for (const [name, t] of Object.entries(decodeSafetensors(files['model.safetensors']).tensors)) out.set(name, new Float32Array(Uint8Array.from(t.bytes).buffer))
  return out
}

test('shards: contiguous, sizes differ by at most one, never empty', () => {
  assert.deepEqual(shards([1, 2, 3, 4, 5], 2), [
    [1, 2, 3],
    [4, 5],
  ])
  assert.deepEqual(shards([1, 2], 4), [[1], [2]])
  assert.deepEqual(shards([7], 1), [[7]])
})

test('workers 2: deterministic, and a stopped and resumed run ends bitwise equal to an uninterrupted one', async () => {
  const a = await run(config(2))
  assert.equal(a.result.finished, true)
  assert.ok(!a.ctx.logs.some((l) => l.includes('one thread')), a.ctx.logs.join('\n'))
  const b = await run(config(2))
  assert.deepEqual(losses(b.ctx), losses(a.ctx))
  for (const name of Object.keys(a.files)) assert.ok(Buffer.from(b.files[name]).equals(Buffer.from(a.files[name])), `${name}: two runs with 2 workers are bitwise equal`)
  // not the single-threaded computation: the shards draw their own dropout masks
  const single = await run(config(1))
  assert.notDeepEqual(losses(single.ctx), losses(a.ctx))

  const checkpoints = new MemoryCheckpoints()
  const curve: number[] = []
  for (const stopAfter of [4, 3, undefined]) {
    const part = await run(config(2), checkpoints, stopAfter)
    curve.push(...losses(part.ctx))
  }
  assert.deepEqual(curve, losses(a.ctx))
  const final = checkpoints.saved.at(-1)!.files
  for (const name of Object.keys(a.files)) assert.ok(Buffer.from(final[name]).equals(Buffer.from(a.files[name])), `${name}: resumed with 2 workers is bitwise equal`)
})

test('a checkpoint written with 2 workers resumes with 1 or 3 workers, equal within float tolerance', async () => {
  // no dropout: then N shards compute the same mean gradient as one batch, up to float rounding
  const reference = await run(config(2, 0))
  const expected = weights(reference.files)
  for (const resumeWith of [1, 3]) {
    const checkpoints = new MemoryCheckpoints()
    await run(config(2, 0), checkpoints, 5)
    const resumed = await run(config(resumeWith, 0), checkpoints)
    assert.equal(resumed.result.finished, true)
    const got = weights(resumed.files)
    let worst = 0
    for (const [name, want] of expected) {
      const have = got.get(name)!
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(have[i] - want[i]) / Math.max(1e-3, Math.abs(want[i])))
    }
    assert.ok(worst < 1e-3, `resumed with ${resumeWith} worker(s): worst relative weight difference ${worst}`)
    const tail = losses(resumed.ctx)
    losses(reference.ctx)
      .slice(5)
      .forEach((want, i) => assert.ok(Math.abs(tail[i] - want) < 1e-4 * Math.max(1, want), `loss at step ${6 + i}: ${tail[i]} vs ${want}`))
  }
})
