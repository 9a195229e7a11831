import assert from 'node:assert/strict'
import {mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {sft} from './helpers/sft-plugin'
import {MemoryCheckpoints, trainerContext} from './helpers/trainer-context'

test('numbers are spelled digit by digit for the tokenizer and read back from generated answers', () => {
  assert.equal(sft.text.spaced('what color is the object at x=23 y=4 ?'), 'what color is the object at x= 2 3 y= 4 ?')
  assert.equal(sft.text.spaced('0.45'), '0 . 4 5')
  assert.equal(sft.text.unspaced('0 . 4 5'), '0.45')
  assert.equal(sft.text.unspaced('left'), 'left')
  assert.equal(sft.text.parseProgress('0.45'), 0.45)
  assert.ok(Number.isNaN(sft.text.parseProgress('A')))
  // DPO's rejected answers: the other letter, a far progress, the other of yes/no
  assert.equal(sft.robot.rejectedAnswer('preference', 'A'), 'B')
  assert.equal(sft.robot.rejectedAnswer('progress', '0.25'), '0.65')
  assert.equal(sft.robot.rejectedAnswer('progress', '0.90'), '0.50')
  assert.equal(sft.robot.rejectedAnswer('similarity', 'yes'), 'no')
})

test('eval metrics parse the generated answers: preference accuracy, progress MAE/RMSE (unparseable = worst case), per-type accuracy', () => {
  const item = (type: string, answer: string) => ({type, answer, question: 'q', framesA: [], framesB: [], rejected: ''})
  const items = [item('preference', 'A'), item('preference', 'B'), item('progress', '0.40'), item('progress', '0.80'), item('spatial', 'left')]
  const m = sft.evaluate.answerMetrics(items, ['A', 'A', '0.50', 'B', 'left'])
  assert.equal(m.eval_preference_accuracy, 0.5)
  assert.ok(Math.abs(m.eval_progress_mae - (0.1 + 0.8) / 2) < 1e-9)
  assert.ok(Math.abs(m.eval_progress_rmse - Math.sqrt((0.01 + 0.64) / 2)) < 1e-9)
  assert.equal(m.eval_spatial_accuracy, 1)
  assert.equal(m.eval_accuracy, 2 / 5)
})

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
  assert.ok(ctx.logs.some((l) => /use_unsloth: not applicable/.test(l)), ctx.logs.join('\n'))
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
  assert.deepEqual(resumed.metrics.filter((m) => 'loss' in m.values).map((m) => m.step), [4, 5, 6], 'only the steps after the checkpoint ran')
  assert.ok(Buffer.from(first.saved.at(-1)!.files['model.safetensors']).equals(Buffer.from(second.saved.at(-1)!.files['model.safetensors'])), 'same weights as the run it continued')
})
