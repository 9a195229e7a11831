import assert from 'node:assert/strict'
import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {TestRun as RunRecord, estimateMemory, workloadSchema, ROOT, rfm, rfmJson, tempHome, assertSchema} from '@rfm/plugin-kit/testing'
import {sft} from '../plugin'

const home = tempHome()
const {kind: sftKind} = sft

test('external mode: the seed-000 config becomes train_vqa_sft.py flags, with checkpoints synced from output_dir (dry run)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-sft-ext-'))
  copyFileSync(path.join(ROOT, 'examples', 'sft', 'qwen3-vl-4b-external.yaml'), path.join(dir, 'job.yaml'))
  // the dry run checks dataset paths like the launch does
  for (const d of ['rfm_train_10epochs', 'rfm_val_0.1epoch']) mkdirSync(path.join(dir, 'vqa_datasets', d), {recursive: true})
  const {code, json, stderr} = await rfmJson(['cloud', 'launch', 'sft', '-c', path.join(dir, 'job.yaml'), '--dry-run', '--set', 'resume_from_checkpoint=./outputs/vqa_training/checkpoint-1000'], {
    home,
  })
  assert.equal(code, 0, stderr)
  assertSchema('cloud-launch', json)
  const argv = json.command.argv as string[]
  assert.deepEqual(argv.slice(0, 2), ['python', 'scripts/train_vqa_sft.py'])
  const flag = (name: string) => {
    const at = argv.indexOf(`--${name}`)
    return at < 0 ? undefined : argv[at + 1] === undefined || argv[at + 1].startsWith('--') ? true : argv[at + 1]
  }
  assert.equal(flag('model_name'), 'Qwen/Qwen3-VL-4B-Instruct')
  assert.equal(flag('learning_rate'), '0.00005')
  assert.equal(flag('per_device_train_batch_size'), '32')
  assert.equal(flag('max_frames'), '32')
  assert.equal(flag('use_unsloth'), true)
  assert.equal(flag('freeze_vision_tower'), true)
  assert.equal(flag('lora_rank'), '0')
  assert.equal(flag('lora_alpha'), undefined, 'no alpha without adapters')
  assert.equal(flag('report_to'), 'wandb')
  assert.equal(flag('wandb_entity'), 'clvr')
  assert.equal(flag('eval_steps'), '500')
  assert.equal(flag('resume_from_checkpoint'), './outputs/vqa_training/checkpoint-1000')
  // local dataset paths are staged at launch (a dry run stages nothing: the path stays as written)
  assert.equal(flag('dataset_path'), './vqa_datasets/rfm_train_10epochs')
  assert.equal(json.command.cwd, dir)
  assert.deepEqual(json.command.checkpoints.resumeArgs, ['--resume_from_checkpoint', 'True'])
  assert.equal(json.command.checkpoints.dir, path.join(dir, 'outputs', 'vqa_training'))
  assert.equal(json.command.checkpoints.layout, 'hf')
  assert.equal(json.command.checkpoints.retention.saveTotalLimit, 3)

  const text = await rfm(['cloud', 'launch', 'sft', '-c', path.join(dir, 'job.yaml'), '--dry-run'], {home})
  assert.match(text.stdout, /Would run: python scripts\/train_vqa_sft\.py --dataset_path/)
  // the GPU estimate reaches the planner: a plan line for the 4B frozen-vision workload
  assert.match(text.stdout, /^Plan: /m)
})

test('a built-in config has no command to run, and DPO flags map onto the DPO script', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-sft-dry-'))
  writeFileSync(path.join(dir, 'job.yaml'), 'spatial: {train_size: 64}\n')
  const builtin = await rfmJson(['cloud', 'launch', 'sft', '-c', path.join(dir, 'job.yaml'), '--dry-run'], {home})
  assert.equal(builtin.code, 0, builtin.stderr)
  assert.equal(builtin.json.command, undefined)
  assert.equal(builtin.json.run.config.stage, 'sft')

  mkdirSync(path.join(dir, 'pipeline'))
  mkdirSync(path.join(dir, 'pairs'))
  writeFileSync(
    path.join(dir, 'dpo.yaml'),
    'stage: dpo\nsft_checkpoint: ./outputs/sft\nbeta: 0.2\ndataset_path: ./pairs\ntrainer_mode: external\ntrainer: {external: {command: [python, scripts/train_dpo.py], workdir: pipeline}}\n',
  )
  const dpo = await rfmJson(['cloud', 'launch', 'sft', '-c', path.join(dir, 'dpo.yaml'), '--dry-run'], {home})
  assert.equal(dpo.code, 0, dpo.stderr)
  const argv = dpo.json.command.argv as string[]
  assert.deepEqual(argv.slice(0, 6), ['python', 'scripts/train_dpo.py', '--sft_checkpoint', './outputs/sft', '--beta', '0.2'])
  assert.equal(dpo.json.command.cwd, path.join(dir, 'pipeline'))
})

test('config errors name the key: unknown keys, a missing workdir, no data, DPO without an SFT model', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-sft-err-'))
  const launch = (yaml: string) => {
    writeFileSync(path.join(dir, 'job.yaml'), yaml)
    return rfmJson(['cloud', 'launch', 'sft', '-c', path.join(dir, 'job.yaml'), '--dry-run'], {home})
  }
  const unknown = await launch('spatial: {train_size: 8}\nlearning_rat: 0.1\n')
  assert.equal(unknown.code, 2)
  assert.match(unknown.json.error.message, /learning_rat/)
  assert.match(unknown.json.error.hint, /learning_rate/)
  const workdir = await launch('trainer_mode: external\ntrainer: {external: {command: [python, x.py], workdir: nowhere}}\n')
  assert.equal(workdir.code, 2)
  assert.match(workdir.json.error.message, /trainer\.external\.workdir/)
  const nodata = await launch('learning_rate: 0.001\n')
  assert.equal(nodata.code, 2)
  assert.match(nodata.json.error.message, /dataset_path: no training data/)
  const dpo = await launch('stage: dpo\nspatial: {train_size: 8}\n')
  assert.equal(dpo.code, 2)
  assert.match(dpo.json.error.message, /sft_checkpoint/)
})

test("estimate: the seed's memory table for Qwen3-VL-4B by method, and a GPU-free built-in run", () => {
  const ext = {trainer_mode: 'external', trainer: {external: {command: ['python', 'train.py'], workdir: '/tmp'}}, per_device_train_batch_size: 4, dataset_size: 43_000}
  const gib = (extra: Record<string, unknown>) => sftKind.estimate!(sft.parse({...ext, ...extra}))
  assert.equal(gib({}).gpuMemoryGiB, 40)
  assert.equal(gib({freeze_vision_tower: true}).gpuMemoryGiB, 25)
  assert.equal(gib({lora_rank: 16}).gpuMemoryGiB, 20)
  assert.equal(gib({lora_rank: 16, quantization: true}).gpuMemoryGiB, 15)
  // twice the model → about twice the memory; DPO in full holds a bf16 reference copy on top
  assert.ok(gib({model_name: 'Qwen/Qwen3-VL-8B-Instruct'}).gpuMemoryGiB > 75)
  assert.ok(gib({stage: 'dpo', sft_checkpoint: 'x'}).gpuMemoryGiB > gib({}).gpuMemoryGiB + 8)
  // the workload the scheduler sizes GPUs from: method, frames, samples
  const w = workloadSchema.parse(gib({freeze_vision_tower: true}).workload)
  assert.equal(w.method, 'frozen_vision')
  // the seed's table holds for its default frame budget (max_frames 32): vision tokens scale with max_frames from there
  assert.equal(w.frames, 1)
  assert.equal(w.vision_tokens_per_frame, 256)
  assert.equal(workloadSchema.parse(gib({freeze_vision_tower: true, max_frames: 64}).workload).vision_tokens_per_frame, 512)
  assert.equal(w.samples, 43_000)
  assert.ok(estimateMemory(w).totalGiB > 10)
  const builtin = sftKind.estimate!(sft.parse({spatial: {train_size: 512}}))
  assert.equal(builtin.gpus, 0)
  assert.equal(builtin.work?.samples, 512)
})

test('an external-mode run really runs the command (not the built-in trainer), and its checkpoints reach the store', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-sft-extrun-'))
  // a stand-in for train_vqa_sft.py: records its flags and writes one HF-layout checkpoint
  writeFileSync(
    path.join(dir, 'train.js'),
    `const fs = require('fs'); const out = process.argv[process.argv.indexOf('--output_dir') + 1];
fs.mkdirSync(out + '/checkpoint-3', {recursive: true}); fs.writeFileSync(out + '/checkpoint-3/model.bin', 'w');
fs.writeFileSync(out + '/checkpoint-3/trainer_state.json', JSON.stringify({global_step: 3}));
fs.writeFileSync('argv.json', JSON.stringify(process.argv.slice(2)));\n`,
  )
  writeFileSync(
    path.join(dir, 'job.yaml'),
    `learning_rate: 0.001\noutput_dir: out\nspatial: {train_size: 4}\ntrainer_mode: external\ntrainer: {external: {command: [${JSON.stringify(process.execPath)}, train.js], workdir: .}}\n`,
  )
  const {code, json, stderr} = await rfmJson(['cloud', 'launch', 'sft', '-c', path.join(dir, 'job.yaml'), '--follow'], {home, timeoutMs: 60_000})
  assert.equal(code, 0, stderr)
  const run = json.run as RunRecord
  assert.equal(run.state, 'succeeded')
  const argv = JSON.parse(readFileSync(path.join(dir, 'argv.json'), 'utf8')) as string[]
  assert.equal(argv[argv.indexOf('--learning_rate') + 1], '0.001')
  const listed = await rfmJson(['ckpt', 'ls', run.id], {home})
  assert.deepEqual(
    (listed.json.checkpoints as {step: number}[]).map((c) => c.step),
    [3],
  )
})

test('the example configs validate (dry run)', async () => {
  for (const [file, extra] of [
    ['spatial-sft.yaml', []],
    ['robot-vqa-sft.yaml', []],
    ['spatial-dpo.yaml', ['--sft-checkpoint', 'sft-20260101-000000-abcd']],
  ] as const) {
    const {code, json, stderr} = await rfmJson(['cloud', 'launch', 'sft', '-c', path.join(ROOT, 'examples', 'sft', file), '--dry-run', ...extra], {home})
    // the dry run makes the launch's checks after the config validated: the generated dataset and the SFT run do not exist here
    if (file === 'robot-vqa-sft.yaml') assert.match(json.error?.message ?? '', /dataset_path: the dataset path .*examples\/sft\/vqa\/train does not exist/, file)
    else if (file === 'spatial-dpo.yaml') assert.match(json.error?.message ?? '', /sft_checkpoint: Run sft-20260101-000000-abcd has no committed checkpoint/, file)
    else {
      assert.equal(code, 0, `${file}: ${stderr}`)
      assert.equal(json.command, undefined, `${file} trains with the built-in trainer`)
    }
  }
})
