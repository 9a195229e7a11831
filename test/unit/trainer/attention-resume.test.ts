import assert from 'node:assert/strict'
import {test} from 'node:test'

import {runTraining} from '../../../src/trainer'
import {MemoryCheckpoints, trainerContext} from '../../helpers/trainer-context'

// the two attention modes differ in the last bits only with tfjs-wasm's own products; with the
// native kernels both run the same OpenBLAS sgemm per head, and the resume checks could not tell them apart
// (read when the first backend is selected, after these imports)
process.env.RFM_NATIVE = 'off'

/** A small VLM run (shapes where the two modes' float results differ), 6 steps, a checkpoint every 3; `attention` absent unless given. */
function config(attention?: 'batched' | 'per_head') {
  return {
    trainer: {backend: 'wasm', seed: 5, max_steps: 6, batch_size: 2, lr: 3e-3, save_steps: 3, tensorboard: false, ...(attention ? {attention} : {})},
    model: {width: 128, depth: 1, heads: 2, context_length: 64, dropout: 0.1, vision: {image_size: 8, patch_size: 4, width: 32, depth: 1, heads: 2}},
    task: {train_size: 12, eval_size: 2, seed: 3},
  }
}

const losses = (metrics: {step: number; values: Record<string, number>}[]) => metrics.filter((m) => 'loss' in m.values).map((m) => [m.step, m.values.loss])

async function train(cfg: ReturnType<typeof config>, checkpoints = new MemoryCheckpoints(), stopAfterSteps?: number) {
  const ctx = trainerContext(cfg, checkpoints, {stopAfterSteps})
  await runTraining(ctx)
  return {curve: losses(ctx.metrics), final: checkpoints.saved.at(-1)!, logs: ctx.logs}
}

const weights = (c: {files: Record<string, Uint8Array>}) => Buffer.from(c.files['model.safetensors'])

test('attention: per_head by default, recorded in checkpoints; a checkpoint that records none resumes batched, bitwise', async () => {
  const batched = await train(config('batched'))
  const fresh = await train(config())
  assert.equal(fresh.final.state.attention, 'per_head', 'a new run without the key runs per_head and records it')
  assert.equal(batched.final.state.attention, 'batched')
  assert.ok(!weights(fresh.final).equals(weights(batched.final)), 'the two modes differ in the last bits, so the checks below can tell them apart')

  // a run launched before per_head became the default: no key in its config, none in its checkpoint state
  const old = new MemoryCheckpoints()
  const first = await train(config('batched'), old, 3)
  for (const c of old.saved) delete c.state.attention
  const resumed = await train(config(), old)
  assert.deepEqual([...first.curve, ...resumed.curve], batched.curve, 'the old run goes on with the numerics it started with')
  assert.ok(weights(resumed.final).equals(weights(batched.final)), 'final weights bitwise equal to an uninterrupted batched run')

  // a new run without the key resumes per_head from its own checkpoint
  const now = new MemoryCheckpoints()
  await train(config(), now, 3)
  const again = await train(config(), now)
  assert.ok(weights(again.final).equals(weights(fresh.final)), 'final weights bitwise equal to an uninterrupted per_head run')

  // an explicit key wins over the checkpoint's mode, with a note
  const switched = new MemoryCheckpoints()
  await train(config('batched'), switched, 3)
  const note = await train(config('per_head'), switched)
  assert.match(note.logs.join('\n'), /checkpoint was written with trainer.attention batched, resuming with per_head/)
})
