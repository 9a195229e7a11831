import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {formats, trainer, MemoryCheckpoints, trainerContext} from '@rfm/plugin-kit/testing'
import {rmEval} from '../plugin'

const {decodeSafetensors} = trainer

/** builtin.workers 2 against 1, as the core's test/unit/trainer/workers.test.ts does for the vlm kind. */
function config(workers: number, extra: Record<string, unknown> = {}) {
  return {
    per_device_train_batch_size: 4,
    gradient_accumulation_steps: 2,
    use_irrelevant_queries: true,
    center_rewards_coefficient: 0.1,
    // dropout off (the default): N shards then compute the one-thread mean gradient, up to float rounding
    save_steps: 2,
    max_steps: 5,
    builtin: {backend: 'wasm', workers, seed: 9, model: {width: 32, heads: 2, vision_width: 32}, data: {train_size: 24, eval_size: 4}},
    ...extra,
  }
}

type Ctx = ReturnType<typeof trainerContext>
const losses = (ctx: Ctx) => ctx.metrics.filter((m) => 'loss' in m.values).map((m) => m.values.loss)
const threads = (ctx: Ctx) => ctx.logs.find((l) => l.includes('data parallel over'))

async function run(cfg: Record<string, unknown>, checkpoints = new MemoryCheckpoints(), stopAfterSteps?: number) {
  const ctx = trainerContext(cfg, checkpoints, {stopAfterSteps})
  const result = await rmEval.train.trainRewardModel(rmEval.api, ctx)
  return {result, ctx, files: checkpoints.saved.at(-1)!.files}
}

function worstRelative(a: Uint8Array, b: Uint8Array): number {
  let worst = 0
  for (const [name, t] of Object.entries(decodeSafetensors(a).tensors)) {
    const want = new Float32Array(Uint8Array.from(t.bytes).buffer)
    const have = new Float32Array(Uint8Array.from(decodeSafetensors(b).tensors[name].bytes).buffer)
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(have[i] - want[i]) / Math.max(1e-3, Math.abs(want[i])))
  }
  return worst
}

function assertClose(a: number[], b: number[]) {
  assert.equal(a.length, b.length)
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < 1e-4 * Math.max(1, Math.abs(b[i])), `loss at step ${i + 1}: ${x} vs ${b[i]}`))
}

test('reward model, builtin.workers 2: two threads run, the one-thread result within float tolerance, deterministic, and a stopped and resumed run bitwise equal', async () => {
  const two = await run(config(2))
  assert.equal(two.result.finished, true)
  assert.match(threads(two.ctx) ?? two.ctx.logs.join('\n'), /over 2 threads/)
  assert.ok(!two.ctx.logs.some((l) => l.includes('one thread')))
  const one = await run(config(1))
  assert.equal(threads(one.ctx), undefined)
  assertClose(losses(two.ctx), losses(one.ctx))
  const worst = worstRelative(one.files['model.safetensors'], two.files['model.safetensors'])
  assert.ok(worst < 1e-3, `worst relative weight difference ${worst}`)

  const again = await run(config(2))
  const checkpoints = new MemoryCheckpoints()
  const curve: number[] = []
  for (const stopAfter of [3, undefined]) curve.push(...losses((await run(config(2), checkpoints, stopAfter)).ctx))
  assert.deepEqual(curve, losses(two.ctx))
  const resumed = checkpoints.saved.at(-1)!.files
  for (const name of ['model.safetensors', 'optimizer.safetensors']) {
    assert.ok(Buffer.from(again.files[name]).equals(Buffer.from(two.files[name])), `${name}: two runs with 2 workers are bitwise equal`)
    assert.ok(Buffer.from(resumed[name]).equals(Buffer.from(two.files[name])), `${name}: resumed with 2 workers is bitwise equal`)
  }
})

test('reward model on records from disk, builtin.workers 2: the workers get the records (the one-thread losses within float tolerance)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-rm-eval-workers-'))
  mkdirSync(path.join(dir, 'images'))
  const colours = ['red', 'green', 'blue']
  const lines = Array.from({length: 16}, (_, i) => {
    const rgb = [0, 0, 0].map((_, c) => (c === i % 3 ? 200 : 30 + ((i * 37 + c * 11) % 60)))
    const data = new Uint8Array(16 * 16 * 3).map((_, k) => rgb[k % 3])
    writeFileSync(path.join(dir, 'images', `${i}.png`), formats.encodePng({width: 16, height: 16, data}))
    const other = colours[(i + 1) % 3]
    return JSON.stringify({prompt: `what colour is image ${i % 5}`, chosen: `it is ${colours[i % 3]}`, rejected: `it is ${other}`, images: [`images/${i}.png`]})
  })
  writeFileSync(path.join(dir, 'prefs.jsonl'), lines.join('\n') + '\n')
  const cfg = (workers: number) => config(workers, {dataset_path: dir, max_steps: 3})
  const two = await run(cfg(2))
  assert.match(threads(two.ctx) ?? two.ctx.logs.join('\n'), /over 2 threads/)
  const one = await run(cfg(1))
  assertClose(losses(two.ctx), losses(one.ctx))
})
