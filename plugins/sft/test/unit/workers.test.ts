import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {formats, trainer, MemoryCheckpoints, trainerContext} from '@rfm/plugin-kit/testing'
import {sft as dataset} from '../dataset-plugin'
import {sft} from '../plugin'

const {decodeSafetensors} = trainer

/** builtin.workers 2 against 1, as the core's test/unit/trainer/workers.test.ts does for the vlm kind. */
function config(workers: number, extra: Record<string, unknown> = {}) {
  return {
    spatial: {train_size: 24, eval_size: 0, seed: 5},
    lora_rank: 4,
    learning_rate: 3e-3,
    per_device_train_batch_size: 4,
    gradient_accumulation_steps: 2,
    max_steps: 5,
    save_steps: 2,
    logging_steps: 1,
    report_to: 'none',
    // no dropout: N shards then compute the one-thread mean gradient, up to float rounding
    builtin: {backend: 'wasm', workers, model: {width: 32, depth: 1, heads: 2, context_length: 24, image_size: 16, patch_size: 8, vision_width: 32, dropout: 0}},
    ...extra,
  }
}

type Ctx = ReturnType<typeof trainerContext>
const rows = (ctx: Ctx) => ctx.metrics.filter((m) => 'loss' in m.values).map((m) => m.values)
const threads = (ctx: Ctx) => ctx.logs.find((l) => l.includes('data parallel over'))

async function run(cfg: Record<string, unknown>, checkpoints = new MemoryCheckpoints(), stopAfterSteps?: number) {
  const ctx = trainerContext(cfg, checkpoints, {stopAfterSteps})
  const result = await sft.run.trainSft(sft.api, ctx, sft.parse(cfg))
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

function close(a: number[], b: number[], what: string) {
  assert.equal(a.length, b.length, what)
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < 1e-4 * Math.max(1, Math.abs(b[i])), `${what} at step ${i + 1}: ${x} vs ${b[i]}`))
}

test('sft, builtin.workers 2: two threads run, the one-thread result within float tolerance, deterministic, and a stopped and resumed run bitwise equal', async () => {
  const two = await run(config(2))
  assert.equal(two.result.finished, true)
  assert.match(threads(two.ctx) ?? two.ctx.logs.join('\n'), /over 2 threads/)
  assert.ok(!two.ctx.logs.some((l) => l.includes('one thread')))
  const one = await run(config(1))
  assert.equal(threads(one.ctx), undefined)
  close(
    rows(two.ctx).map((r) => r.loss),
    rows(one.ctx).map((r) => r.loss),
    'loss',
  )
  const worst = worstRelative(one.files['model.safetensors'], two.files['model.safetensors'])
  assert.ok(worst < 1e-3, `worst relative weight difference ${worst}`)

  const again = await run(config(2))
  const checkpoints = new MemoryCheckpoints()
  const curve: number[] = []
  for (const stopAfter of [3, undefined]) curve.push(...rows((await run(config(2), checkpoints, stopAfter)).ctx).map((r) => r.loss))
  assert.deepEqual(
    curve,
    rows(two.ctx).map((r) => r.loss),
  )
  const resumed = checkpoints.saved.at(-1)!.files
  for (const name of ['model.safetensors', 'optimizer.safetensors', 'merged.safetensors']) {
    assert.ok(Buffer.from(again.files[name]).equals(Buffer.from(two.files[name])), `${name}: two runs with 2 workers are bitwise equal`)
    assert.ok(Buffer.from(resumed[name]).equals(Buffer.from(two.files[name])), `${name}: resumed with 2 workers is bitwise equal`)
  }
})

test('dpo, builtin.workers 2: the rewards/* statistics count every worker’s pairs (the one-thread values within float tolerance)', async () => {
  // the SFT checkpoint DPO starts from, as `rfm ckpt pull` writes it
  const store = new MemoryCheckpoints()
  await run(config(1, {max_steps: 2}), store)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-sft-workers-'))
  const saved = store.saved.at(-1)!
  for (const [name, bytes] of Object.entries(saved.files)) writeFileSync(path.join(dir, name), bytes)
  writeFileSync(path.join(dir, 'trainer_state.json'), JSON.stringify(saved.state))
  const dpo = (workers: number) => config(workers, {stage: 'dpo', sft_checkpoint: dir, beta: 0.2, max_steps: 4, learning_rate: 1e-2})

  const two = await run(dpo(2))
  assert.match(threads(two.ctx) ?? two.ctx.logs.join('\n'), /over 2 threads/)
  const one = await run(dpo(1))
  for (const key of ['loss', 'rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies'])
    close(
      rows(two.ctx).map((r) => r[key]),
      rows(one.ctx).map((r) => r[key]),
      key,
    )
  // the policy moved: the statistics compared are not all zero
  assert.ok(rows(one.ctx).some((r) => r['rewards/margins'] !== 0))
})

test('sft on a robot VQA dataset, builtin.workers 2: the workers reopen the dataset, and answers of different lengths still give the one-thread losses', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-sft-workers-robot-'))
  const data = {train_datasets: ['synthetic:w:8'], sample_type_ratio: [1, 1, 0], max_frames: 2}
  await dataset.generateVqaDataset({output: path.join(dir, 'train'), numEpochs: 2, numWorkers: 0, data}, formats)
  const robot = (workers: number) =>
    config(workers, {
      dataset_path: path.join(dir, 'train'),
      max_frames: 2,
      spatial: {train_size: 0, eval_size: 0, seed: 5},
      max_steps: 2,
      builtin: {backend: 'wasm', workers, model: {width: 32, depth: 1, heads: 2, context_length: 48, image_size: 16, patch_size: 8, vision_width: 32, dropout: 0}},
    })
  const two = await run(robot(2))
  assert.match(threads(two.ctx) ?? two.ctx.logs.join('\n'), /over 2 threads/)
  const one = await run(robot(1))
  close(
    rows(two.ctx).map((r) => r.loss),
    rows(one.ctx).map((r) => r.loss),
    'loss',
  )
})
