import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {parse} from 'yaml'

import type {JobKind} from '@rfm/plugin-api'
import {rfm, rfmJson, tempHome, assertSchema} from '@rfm/plugin-kit/testing'
import {rmEval} from '../plugin'

const home = tempHome()
// the dry run checks dataset paths like the launch: the seed's /data/… folders stand here
const DATA = mkdtempSync(path.join(os.tmpdir(), 'rfm-rm-ext-data-'))
for (const d of ['preference', 'eval']) mkdirSync(path.join(DATA, d))
const rmEvalKind = (rmEval.kinds(rmEval.api) as JobKind[])[0]

/** A folder standing for the pipeline's checkout, and a config in it. */
function pipelineConfig(lines: string[]): {dir: string; file: string} {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-rm-ext-'))
  mkdirSync(path.join(dir, 'pipeline'))
  const file = path.join(dir, 'train.yaml')
  writeFileSync(file, [...lines, 'trainer_mode: external', 'external:', '  workdir: pipeline'].join('\n') + '\n')
  return {dir, file}
}

const SEED_7B = [
  'model_name_or_path: /models/Qwen2.5-VL-7B-Instruct',
  'attn_implementation: flash_attention_2',
  'min_pixels: 6272',
  'max_pixels: 1605632',
  `dataset_path: ${DATA}/preference`,
  'max_seq_length: 3072',
  'use_irrelevant_queries: true',
  'num_irrelevant_pairs: 1',
  'irrelevant_loss_weight: 1.0',
  'num_train_epochs: 3',
  'per_device_train_batch_size: 1',
  'gradient_accumulation_steps: 8',
  'learning_rate: 1.0e-5',
  'warmup_steps: 100',
  'gradient_checkpointing: true',
  'deepspeed: zero2.json',
  'bf16: true',
]

async function dryRun(file: string, extra: string[] = []) {
  const {code, json, stderr} = await rfmJson(['cloud', 'launch', 'rm-eval', '-c', file, '--dry-run', ...extra], {home})
  assert.equal(code, 0, stderr)
  assertSchema('cloud-launch', json)
  return json as {run: {id: string; config: Record<string, unknown>}; command: {argv: string[]; cwd: string; checkpoints: Record<string, unknown>; files?: Array<{path: string; content: string}>}}
}

test("external mode: the seed's 7B config runs train_rm.py under torchrun on the preset's 8 GPUs, with exactly its keys and hf checkpoint sync", async () => {
  const {dir, file} = pipelineConfig(SEED_7B)
  const out = await dryRun(file)
  const configFile = out.command.argv.at(-1)!
  assert.deepEqual(out.command.argv, ['torchrun', '--nnodes', '1', '--nproc_per_node', '8', '--master_port', '29500', 'train_rm.py', configFile])
  assert.equal(out.command.cwd, path.join(dir, 'pipeline'))
  assert.match(configFile, new RegExp(`${out.run.id}/train_config\\.yaml$`))
  // the script gets the keys the user wrote (no built-in defaults, no rfm blocks) and rfm's output_dir
  const written = parse(out.command.files!.find((f) => f.path === configFile)!.content) as Record<string, unknown>
  const outputDir = path.join(path.dirname(configFile), 'output')
  const expected = parse(SEED_7B.join('\n')) as Record<string, unknown>
  assert.deepEqual(written, {...expected, output_dir: outputDir})
  assert.deepEqual(out.command.checkpoints, {dir: outputDir, layout: 'hf', completeMarker: 'trainer_state.json', resumeArgs: ['--resume_from_checkpoint', 'True'], retention: {}})
})

test('external mode: launchers, GPU count, port and extra arguments from the config and --set', async () => {
  const {file} = pipelineConfig(['model_name_or_path: XiaomiMiMo/MiMo-VL-7B-RL', 'deepspeed: zero3.json'])
  const cases: [string[], (cfg: string) => string[]][] = [
    [
      ['--set', 'external.launcher=accelerate', '--set', 'external.gpus=4'],
      (cfg) => ['accelerate', 'launch', '--num_machines', '1', '--num_processes', '4', '--main_process_port', '29500', 'train_rm.py', cfg],
    ],
    [['--set', 'external.launcher=deepspeed', '--set', 'external.master_port=29501'], (cfg) => ['deepspeed', '--num_gpus', '8', '--master_port', '29501', 'train_rm.py', cfg]],
    [['--set', 'external.launcher=python', '--set', 'external.gpus=1', '--set', 'external.python=python3'], (cfg) => ['python3', 'train_rm.py', cfg]],
    [
      ['--set', 'external.extra_args=[--learning_rate, "5e-6", --num_train_epochs, "5"]'],
      (cfg) => ['torchrun', '--nnodes', '1', '--nproc_per_node', '8', '--master_port', '29500', 'train_rm.py', cfg, '--learning_rate', '5e-6', '--num_train_epochs', '5'],
    ],
  ]
  for (const [flags, argv] of cases) {
    const out = await dryRun(file, flags)
    const cfg = out.command.argv.find((a) => a.endsWith('train_config.yaml'))!
    assert.deepEqual(out.command.argv, argv(cfg), flags.join(' '))
  }
})

test('external mode with --eval: eval_rm.py on one GPU with the eval keys; its results file is synced as the checkpoint', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-rm-ext-'))
  mkdirSync(path.join(dir, 'pipeline'))
  const file = path.join(dir, 'eval.yaml')
  writeFileSync(
    file,
    `model_dirs: [/ckpts/vlm_reward_model_7b]\ndataset_path: ${DATA}/eval\nbase_model_path: /models/Qwen2.5-VL-7B-Instruct\ncheckpoint_pattern: "checkpoint-*"\neval_batch_size: 2\noutput_file: evaluation_results.csv\ntrainer_mode: external\nexternal: {workdir: pipeline}\n`,
  )
  const out = await dryRun(file, ['--eval'])
  const configFile = out.command.argv[2]
  assert.deepEqual(out.command.argv, ['python', 'eval_rm.py', configFile])
  const written = parse(out.command.files!.find((f) => f.path === configFile)!.content) as Record<string, unknown>
  const outputDir = path.join(path.dirname(configFile), 'output')
  assert.deepEqual(written, {
    model_dirs: ['/ckpts/vlm_reward_model_7b'],
    dataset_path: `${DATA}/eval`,
    base_model_path: '/models/Qwen2.5-VL-7B-Instruct',
    checkpoint_pattern: 'checkpoint-*',
    eval_batch_size: 2,
    output_file: path.join(outputDir, 'evaluation_results.csv'),
  })
  assert.equal(out.run.config.mode, 'eval')
  assert.deepEqual(out.command.checkpoints, {dir: outputDir, layout: 'file', file: 'evaluation_results.json', completeMarker: 'trainer_state.json', resumeArgs: [], retention: {}})
})

test('external mode: config errors name the key (no workdir block, unknown size, python on 8 GPUs)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-rm-ext-'))
  const write = (name: string, text: string) => {
    writeFileSync(path.join(dir, name), text)
    return path.join(dir, name)
  }
  const noBlock = await rfm(['cloud', 'launch', 'rm-eval', '-c', write('a.yaml', 'trainer_mode: external\nmodel_name_or_path: /models/Qwen2.5-VL-7B-Instruct\n'), '--dry-run'], {home})
  assert.equal(noBlock.code, 2)
  assert.match(noBlock.stderr, /external/)
  assert.doesNotMatch(noBlock.stderr, /\n\s+at /)
  mkdirSync(path.join(dir, 'pipe'))
  const unknown = await rfm(['cloud', 'launch', 'rm-eval', '-c', write('b.yaml', 'trainer_mode: external\nmodel_name_or_path: /models/my-model\nexternal: {workdir: pipe}\n'), '--dry-run'], {home})
  assert.equal(unknown.code, 2)
  assert.match(unknown.stderr, /external\.preset/)
  const python = await rfm(
    ['cloud', 'launch', 'rm-eval', '-c', write('c.yaml', 'trainer_mode: external\nmodel_name_or_path: /m/qwen3b\nexternal: {workdir: pipe, launcher: python, gpus: 8}\n'), '--dry-run'],
    {home},
  )
  assert.equal(python.code, 2)
  assert.match(python.stderr, /external\.launcher/)
  const missing = await rfm(['cloud', 'launch', 'rm-eval', '-c', write('d.yaml', 'trainer_mode: external\nmodel_name_or_path: /m/qwen3b\nexternal: {workdir: nowhere}\n'), '--dry-run'], {home})
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /external\.workdir/)
})

test("size presets → the scheduler's workload (params by size, pairs, ZeRO sharding, frozen vision) and the Batch machine", async () => {
  const estimate = (model: string, extra: Record<string, unknown> = {}) =>
    rmEvalKind.estimate!({
      trainer_mode: 'external',
      model_name_or_path: model,
      per_device_train_batch_size: 1,
      gradient_accumulation_steps: 8,
      max_seq_length: 2048,
      max_pixels: 200704,
      max_train_samples: 20000,
      external: {workdir: '/w'},
      ...extra,
    })
  const cases = [
    ['Qwen/Qwen2.5-VL-3B-Instruct', 3.75, 4, 'none'],
    ['/m/qwen2.5-vl-7b', 8.29, 8, 'none'],
    ['/m/Qwen2.5-VL-32B-Instruct', 33.5, 8, 'zero3'],
    ['/ckpts/run_3b_old/Qwen2.5-VL-72B-Instruct', 73.4, 8, 'zero3'],
    ['XiaomiMiMo/MiMo-VL-7B-RL', 8.31, 8, 'none'],
  ] as const
  for (const [model, params, gpus, sharding] of cases) {
    const e = estimate(model)
    assert.equal(e.gpus, gpus, model)
    assert.equal(e.workload!.kind, 'rm')
    assert.equal(e.workload!.model.params_b, params, model)
    assert.equal(e.workload!.sharding, sharding, model)
    assert.equal(e.workload!.samples, 20000)
    assert.equal(e.workload!.vision_tokens_per_frame, 256, 'max_pixels / 28²')
    assert.ok(e.memoryGiB >= (2 * 2 * params * 1e9) / 2 ** 30, 'host memory holds the weights twice')
  }
  assert.equal(estimate('/m/qwen-7b', {freeze_vit: true}).workload!.method, 'frozen_vision')
  const zero2 = estimate('/m/qwen-7b', {deepspeed: 'zero2.json', external: {workdir: '/w', gpus: 4}})
  assert.equal(zero2.gpus, 4)
  assert.equal(zero2.workload!.sharding, 'zero2', 'ZeRO-2 shards gradients and Adam state over the GPUs')
  assert.equal(zero2.workload!.optimizer_bytes_per_param, 14, 'bf16 gradient + fp32 Adam master/m/v')
  assert.equal(estimate('/m/qwen-7b', {external: {workdir: '/w', preset: '32B'}}).workload!.model.params_b, 33.5, 'an explicit preset wins')

  // the scheduler plans from it: a 7B with ZeRO-3 fits 8 × 80 GB; a 72B with full Adam state does not, and says so
  const {file} = pipelineConfig(['model_name_or_path: /m/Qwen2.5-VL-7B-Instruct', 'deepspeed: zero3.json', 'per_device_train_batch_size: 1', 'max_seq_length: 2048', 'max_pixels: 200704'])
  const fits = await rfmJson(['cloud', 'plan', 'rm-eval', '-c', file], {home})
  assert.equal(fits.code, 0, fits.stderr)
  assertSchema('cloud-plan', fits.json)
  assert.equal(fits.json.workload.model.params_b, 8.29)
  assert.ok(fits.json.chosen.gpus >= 1)
  const big = await rfmJson(['cloud', 'plan', 'rm-eval', '-c', file, '--set', 'model_name_or_path=/m/Qwen2.5-VL-72B-Instruct'], {home})
  assert.equal(big.code, 2)
  assert.match(big.json.error.message, /Qwen2\.5-VL-72B-Instruct/)
})

test('the built-in mode estimates no GPU and runs no command', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-rm-ext-'))
  writeFileSync(path.join(dir, 'b.yaml'), 'max_steps: 2\n')
  const out = await rfmJson(['cloud', 'launch', 'rm-eval', '-c', path.join(dir, 'b.yaml'), '--dry-run'], {home})
  assert.equal(out.code, 0, out.stderr)
  assert.equal(out.json.command, undefined)
  const planned = await rfmJson(['cloud', 'plan', 'rm-eval', '-c', path.join(dir, 'b.yaml')], {home})
  assert.equal(planned.json.cpuOnly, true)
})

// A stand-in for the pipeline's train_rm.py (which needs GPUs and PyTorch): it reads the config file
// rfm wrote, saves checkpoint-<step>/ folders into its output_dir like HF Trainer (trainer_state.json
// last), and with --resume_from_checkpoint True continues from the newest one there.
const STAND_IN = `
const fs = require('node:fs'), path = require('node:path')
const {parse} = require(${JSON.stringify(require.resolve('yaml'))})
const [configFile, ...rest] = process.argv.slice(2)
const c = parse(fs.readFileSync(configFile, 'utf8'))
const resume = rest.join(' ').includes('--resume_from_checkpoint True')
let step = 0, value = c.learning_rate
if (resume) {
  const last = fs.readdirSync(c.output_dir).filter((d) => /^checkpoint-\\d+$/.test(d)).map((d) => Number(d.slice(11))).sort((a, b) => a - b).pop()
  const state = JSON.parse(fs.readFileSync(path.join(c.output_dir, 'checkpoint-' + last, 'trainer_state.json'), 'utf8'))
  step = state.global_step; value = state.value
  console.log('resumed at ' + step)
}
// attempt 1 is killed (SIGKILL) after step 5, attempt 2 crashes after step 9: as a lost host and a bug would
const stopAt = {1: 5, 2: 9}[process.env.RFM_ATTEMPT]
const tick = () => {
  if (step === stopAt) return process.env.RFM_ATTEMPT === '1' ? process.kill(process.pid, 'SIGKILL') : process.exit(1)
  if (step === c.max_steps) return fs.writeFileSync(path.join(c.output_dir, 'done.txt'), String(value))
  step++; value = (value * 31 + step) % 1000003
  const dir = path.join(c.output_dir, 'checkpoint-' + step)
  fs.mkdirSync(dir, {recursive: true})
  fs.writeFileSync(path.join(dir, 'model.safetensors'), 'weights ' + value)
  fs.writeFileSync(path.join(dir, 'trainer_state.json'), JSON.stringify({global_step: step, value}))
  setTimeout(tick, 150)
}
tick()
`

test('external mode runs under the runtime: checkpoints synced to the store; a killed and a crashed attempt resume from them with the resume arguments and end where one clean attempt does', async () => {
  const run = async (attempts: number, crash: boolean) => {
    const {dir, file} = pipelineConfig(['model_name_or_path: /models/Qwen2.5-VL-3B-Instruct', 'learning_rate: 7'])
    writeFileSync(path.join(dir, 'pipeline', 'train_rm.js'), crash ? STAND_IN : STAND_IN.replace('const stopAt = ', 'const stopAt = undefined && '))
    const sets = [
      '--set',
      'external.launcher=python',
      '--set',
      'external.gpus=1',
      '--set',
      `external.python=${process.execPath}`,
      '--set',
      'external.train_script=train_rm.js',
      '--set',
      'external.extra_keys={max_steps: 12}',
      '--set',
      `retries.attempts=${attempts}`,
    ]
    const {code, json, stderr} = await rfmJson(['cloud', 'launch', 'rm-eval', '-c', file, ...sets, '--follow'], {home, timeoutMs: 300_000, env: {RFM_CHECKPOINT_POLL_MS: '50'}})
    assert.equal(code, 0, stderr)
    const pulled = await rfmJson(['ckpt', 'pull', json.run.id, path.join(dir, 'final'), '--final'], {home})
    assert.equal(pulled.code, 0, pulled.stderr)
    const logs = await rfm(['cloud', 'logs', json.run.id], {home})
    return {run: json.run, step: pulled.json.step as number, weights: readFileSync(path.join(dir, 'final', 'model.safetensors'), 'utf8'), logs: logs.stdout}
  }
  const reference = await run(1, false)
  assert.equal(reference.step, 12)
  const broken = await run(3, true)
  assert.equal(broken.run.state, 'succeeded')
  const resumed = broken.run.attempts.map((a: {resumedFromStep?: number}) => a.resumedFromStep ?? null)
  // step 5 is written 150 ms before the SIGKILL: a folder is committed only once seen stable at two
  // polls (and after a SIGKILL it may be torn), so on a loaded machine the resume may be from an
  // earlier committed step — never from nothing, never past the kill
  assert.equal(resumed.length, 3)
  assert.equal(resumed[0], null)
  assert.ok(resumed[1] >= 1 && resumed[1] <= 5, String(resumed))
  assert.equal(resumed[2], 9)
  assert.match(broken.logs, /train_rm\.js \S+train_config\.yaml --resume_from_checkpoint True/)
  assert.match(broken.logs, /resumed at 9/)
  assert.equal(broken.step, 12)
  assert.equal(broken.weights, reference.weights)
})
