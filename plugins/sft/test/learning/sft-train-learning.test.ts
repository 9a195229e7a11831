import assert from 'node:assert/strict'
import {mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {sft} from '../plugin'
import {MemoryCheckpoints, trainerContext} from '@rfm/plugin-kit/testing'

test('a run stopped and resumed (SFT with LoRA and dropout) ends bitwise equal to an uninterrupted one', async () => {
  const config = {
    spatial: {train_size: 32, eval_size: 8, seed: 5},
    lora_rank: 4,
    learning_rate: 3e-3,
    per_device_train_batch_size: 4,
    gradient_accumulation_steps: 2,
    max_steps: 8,
    save_steps: 3,
    eval_strategy: 'steps',
    eval_steps: 4,
    logging_steps: 1,
    report_to: 'none',
    builtin: {backend: 'wasm', model: {width: 32, depth: 1, heads: 2, context_length: 24, image_size: 16, patch_size: 8, vision_width: 32, dropout: 0.1}},
  }
  const c = sft.parse(config)
  const full = new MemoryCheckpoints()
  const reference = await sft.run.trainSft(sft.api, trainerContext(config, full), c)
  const store = new MemoryCheckpoints()
  const first = await sft.run.trainSft(sft.api, trainerContext(config, store, {stopAfterSteps: 5}), c)
  assert.equal(first.finished, false)
  const second = await sft.run.trainSft(sft.api, trainerContext(config, store), c)
  assert.equal(second.finished, true)
  assert.equal(second.step, reference.step)
  const a = full.saved.at(-1)!.files
  const b = store.saved.at(-1)!.files
  for (const name of ['model.safetensors', 'optimizer.safetensors', 'merged.safetensors', 'sft_layout.json']) assert.ok(Buffer.from(a[name]).equals(Buffer.from(b[name])), `${name} differs`)
  assert.deepEqual(reference.evalMetrics, second.evalMetrics)
})

test('resume_from_checkpoint: a new run continues from a pulled checkpoint folder; not-applicable keys and wandb are reported, TensorBoard is written', async () => {
  const config = {
    spatial: {train_size: 16, eval_size: 0, seed: 2},
    learning_rate: 3e-3,
    per_device_train_batch_size: 4,
    gradient_accumulation_steps: 1,
    max_steps: 6,
    save_steps: 3,
    logging_steps: 1,
    report_to: ['tensorboard', 'wandb'],
    wandb_project: 'rfm',
    use_unsloth: true,
    builtin: {backend: 'wasm', model: {width: 32, depth: 1, heads: 2, context_length: 24, image_size: 16, patch_size: 8, vision_width: 32}},
  }
  const first = new MemoryCheckpoints()
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'rfm-sft-tb-'))
  const ctx = trainerContext(config, first, {workDir})
  await sft.run.trainSft(sft.api, ctx, sft.parse(config))
  assert.ok(
    ctx.logs.some((l) => /use_unsloth: not applicable/.test(l)),
    ctx.logs.join('\n'),
  )
  assert.ok(ctx.logs.some((l) => /wandb: unavailable offline/.test(l)))
  assert.ok(readdirSync(path.join(workDir, 'tensorboard')).some((f) => f.startsWith('events.out.tfevents')))
  // the step-3 checkpoint as `rfm ckpt pull` lays it out: its files plus trainer_state.json
  const at3 = first.saved.find((c) => c.step === 3)!
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-sft-ckpt-'))
  for (const [name, bytes] of Object.entries(at3.files)) writeFileSync(path.join(dir, name), bytes)
  writeFileSync(path.join(dir, 'trainer_state.json'), JSON.stringify(at3.state))
  const second = new MemoryCheckpoints()
  const resumed = trainerContext({...config, resume_from_checkpoint: dir}, second)
  const result = await sft.run.trainSft(sft.api, resumed, sft.parse({...config, resume_from_checkpoint: dir}))
  assert.equal(result.step, 6)
  assert.deepEqual(
    resumed.metrics.filter((m) => 'loss' in m.values).map((m) => m.step),
    [4, 5, 6],
    'only the steps after the checkpoint ran',
  )
  assert.ok(Buffer.from(first.saved.at(-1)!.files['model.safetensors']).equals(Buffer.from(second.saved.at(-1)!.files['model.safetensors'])), 'same weights as the run it continued')
})
