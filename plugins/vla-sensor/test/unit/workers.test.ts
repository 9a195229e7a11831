import assert from 'node:assert/strict'
import {test} from 'node:test'

import {trainer, MemoryCheckpoints, trainerContext} from '@rfm/plugin-kit/testing'
import {api, smallConfig, vla} from '../plugin'

const {decodeSafetensors} = trainer

/** builtin.workers 2 against 1, as the core's test/unit/trainer/workers.test.ts does for the vlm kind. */
function config(workers: number) {
  return smallConfig({
    data: {generated: {sessions: 24, sensor_every: 4, steps_per_session: 8, views: 2, image_size: 16}},
    batch_size: 8,
    grad_accum_steps: 2,
    max_steps: 4,
    // no dropout: N shards then compute the one-thread mean gradient, up to float rounding
    lora_dropout: 0,
    builtin: {backend: 'wasm', workers, model: {width: 32, vl_depth: 1, heads: 2, hidden: 64, sensor_channels: 16}},
  })
}

type Ctx = ReturnType<typeof trainerContext>
const rows = (ctx: Ctx) => ctx.metrics.filter((m) => 'train/loss_step' in m.values).map((m) => m.values)

async function run(cfg: Record<string, unknown>, checkpoints = new MemoryCheckpoints(), stopAfterSteps?: number) {
  const ctx = trainerContext(cfg, checkpoints, {stopAfterSteps})
  const result = await vla.train.trainVla(api, ctx)
  return {result, ctx, files: checkpoints.saved.at(-1)!.files}
}

test('vla-sensor, builtin.workers 2: two threads run, the one-thread losses, weights and sensor counts within float tolerance, and a stopped and resumed run bitwise equal', async () => {
  const two = await run(config(2))
  assert.equal(two.result.finished, true)
  assert.ok(
    two.ctx.logs.some((l) => l.includes('data parallel over 2 threads')),
    two.ctx.logs.join('\n'),
  )
  const one = await run(config(1))
  const [a, b] = [rows(two.ctx), rows(one.ctx)]
  assert.equal(a.length, 4)
  a.forEach((r, i) => {
    assert.ok(Math.abs(r['train/loss_step'] - b[i]['train/loss_step']) < 1e-4 * Math.max(1, b[i]['train/loss_step']), `loss at step ${i + 1}: ${r['train/loss_step']} vs ${b[i]['train/loss_step']}`)
    // the workers' sensor samples are counted too
    assert.equal(r['train/sensor_samples'], b[i]['train/sensor_samples'])
  })
  assert.ok(b.some((r) => r['train/sensor_samples'] > 0))
  let worst = 0
  const want = decodeSafetensors(one.files['model.safetensors']).tensors
  for (const [name, t] of Object.entries(decodeSafetensors(two.files['model.safetensors']).tensors)) {
    const [x, y] = [new Float32Array(Uint8Array.from(t.bytes).buffer), new Float32Array(Uint8Array.from(want[name].bytes).buffer)]
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(1e-3, Math.abs(y[i])))
  }
  assert.ok(worst < 1e-3, `worst relative weight difference ${worst}`)

  const checkpoints = new MemoryCheckpoints()
  const curve: number[] = []
  for (const stopAfter of [2, undefined]) curve.push(...rows((await run(config(2), checkpoints, stopAfter)).ctx).map((r) => r['train/loss_step']))
  assert.deepEqual(
    curve,
    a.map((r) => r['train/loss_step']),
  )
  const resumed = checkpoints.saved.at(-1)!.files
  for (const name of ['model.safetensors', 'optimizer.safetensors']) assert.ok(Buffer.from(resumed[name]).equals(Buffer.from(two.files[name])), `${name}: resumed with 2 workers is bitwise equal`)
})
