/**
 * External mode passes the pipeline's script exactly what the user set (issue 20, item 1): every
 * key in the config file or given as a launch flag / --set, whether or not it equals rfm's default;
 * nothing the user left unset; keys rfm does not know pass through with a notice. The launcher's
 * GPU count sizes the job (item 2). And grpo no longer coerces "false" to true (issue 19, D13).
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {launcherGpus} from '../../src/jobs/launcher-gpus'
import {JOB_DEFINITION, QUEUES} from '../helpers/fake-batch'
import {rfm, rfmJson, tempHome} from '../helpers/cli'

const home = tempHome()
const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-given-'))
mkdirSync(path.join(dir, 'pipeline'))
// dry runs check dataset paths as launches do: the datasets the configs name exist
const DATA = path.join(dir, 'data')
for (const d of ['vqa', 'prefs']) mkdirSync(path.join(DATA, d), {recursive: true})

function config(name: string, text: string): string {
  const file = path.join(dir, name)
  writeFileSync(file, text)
  return file
}

/** `--flag v1 v2 …` → the values after the flag, up to the next `--`; true for a bare switch. */
function flagsOf(argv: string[]): Record<string, string | true> {
  const out: Record<string, string | true> = {}
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) continue
    const values: string[] = []
    while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) values.push(argv[++i])
    out[argv[i - values.length]] = values.length ? values.join(' ') : true
  }
  return out
}

test('sft: every key the user set reaches train_vqa_sft.py, defaults included; unset keys do not; unknown HF keys pass through with a notice', async () => {
  const file = config(
    'sft.yaml',
    `dataset_path: ${DATA}/vqa
learning_rate: 2.0e-5
per_device_train_batch_size: 4
lr_scheduler_type: linear
num_train_epochs: 0.5
optim: adamw_torch_fused
save_total_limit: 2
remove_unused_columns: false
warmup_ration: 0.05
trainer_mode: external
trainer: {external: {command: [python, train_vqa_sft.py], workdir: pipeline}}
`,
  )
  const {code, json, stderr} = await rfmJson(['cloud', 'launch', 'sft', '-c', file, '--set', 'seed=42', '--dry-run'], {home})
  assert.equal(code, 0, stderr + JSON.stringify(json))
  const argv = json.command.argv as string[]
  assert.deepEqual(flagsOf(argv), {
    '--dataset_path': `${DATA}/vqa`,
    '--learning_rate': '0.00002',
    '--lr_scheduler_type': 'linear',
    '--save_total_limit': '2',
    '--per_device_train_batch_size': '4',
    '--num_train_epochs': '0.5',
    '--seed': '42',
    '--optim': 'adamw_torch_fused',
    '--remove_unused_columns': 'False',
    '--warmup_ration': '0.05',
    '--output_dir': './outputs/vqa_training',
  })
  for (const unasked of ['--eval_strategy', '--report_to', '--logging_steps', '--model_name', '--warmup_ratio']) assert.ok(!argv.includes(unasked), unasked)
  const notices = json.notices as string[]
  assert.equal(notices.length, 3)
  assert.ok(notices.some((n) => /"optim" is not a key rfm knows; passed to the script/.test(n)))
  assert.ok(
    notices.some((n) => /warning: "warmup_ration" .*did you mean "warmup_ratio"/.test(n)),
    notices.join('\n'),
  )
  assert.equal(json.command.addedFlags['--output_dir'] !== undefined, true)

  // the text dry run marks where each flag came from
  const text = await rfm(['cloud', 'launch', 'sft', '-c', file, '--set', 'seed=42', '--dry-run'], {home})
  assert.equal(text.code, 0, text.stderr)
  assert.match(text.stdout, /--learning_rate 0\.00002 +learning_rate \(config file\)/)
  assert.match(text.stdout, /--seed 42 +seed \(--set\)/)
  assert.match(text.stdout, /--optim adamw_torch_fused +optim \(config file, not an rfm key: passed as written\)/)
  assert.match(text.stdout, /--output_dir \.\/outputs\/vqa_training +added by rfm: checkpoints are synced from output_dir/)
  assert.match(text.stderr, /did you mean/)

  // the built-in trainer keeps its own rules
  const builtin = await rfmJson(['cloud', 'launch', 'sft', '--set', 'spatial.train_size=8', '--set', 'lr_scheduler_type=linear', '--dry-run'], {home})
  assert.equal(builtin.code, 2)
  assert.match(builtin.json.error.message, /lr_scheduler_type/)
  const unknown = await rfmJson(['cloud', 'launch', 'sft', '--set', 'spatial.train_size=8', '--set', 'optim=sgd', '--dry-run'], {home})
  assert.equal(unknown.code, 2, 'unknown keys are refused by the built-in trainer')
})

test("grpo: values equal to rfm's defaults, report_to, logging_dir and use_vllm reach grpo_rec.py; batch checks of the built-in model are not applied", async () => {
  writeFileSync(path.join(dir, 'pipeline', 'grpo_rec.py'), '')
  const file = config(
    'grpo.yaml',
    `model_name_or_path: Qwen/Qwen2-VL-7B-Instruct
dataset_name: ${DATA}/vqa
reward_funcs: [format, accuracy]
num_generations: 4
max_completion_length: 64
beta: 0.04
loss_type: grpo
lr_scheduler_type: constant
per_device_train_batch_size: 3
report_to: tensorboard
logging_dir: out/logs
use_vllm: true
vllm_gpu_memory_utilization: 0.7
trainer_mode: external
external: {workdir: pipeline, script: grpo_rec.py, launcher: [accelerate, launch, --num_processes=4]}
`,
  )
  const {code, json, stderr} = await rfmJson(['cloud', 'launch', 'grpo', '-c', file, '--dry-run'], {home})
  assert.equal(code, 0, stderr + JSON.stringify(json))
  const argv = json.command.argv as string[]
  assert.deepEqual(argv.slice(0, 4), ['accelerate', 'launch', '--num_processes=4', 'grpo_rec.py'])
  assert.deepEqual(flagsOf(argv.slice(4)), {
    '--model_name_or_path': 'Qwen/Qwen2-VL-7B-Instruct',
    '--dataset_name': `${DATA}/vqa`,
    '--use_huggingface_dataset': true,
    '--task_type': 'vqa',
    '--reward_funcs': 'format accuracy',
    '--num_generations': '4',
    '--max_completion_length': '64',
    '--beta': '0.04',
    '--loss_type': 'grpo',
    '--per_device_train_batch_size': '3',
    '--lr_scheduler_type': 'constant',
    '--output_dir': './output/grpo',
    '--report_to': 'tensorboard',
    '--logging_dir': 'out/logs',
    '--use_vllm': true,
    '--vllm_gpu_memory_utilization': '0.7',
  })
})

test('grpo refuses coerced values with exit 2 (D13): "false", trainer_mode "no", "" and [60]; the old switch external.enabled names trainer_mode', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--set', 'skip_invalid="false"'], /skip_invalid: expected a boolean/],
    [['--set', 'trainer_mode="no"'], /trainer_mode: expected one of "builtin", "external"/],
    [['--set', 'external={enabled: true}'], /external\.enabled: expected nothing here \(trainer_mode is a top-level key now\)/],
    [['--set', 'max_steps=""'], /max_steps: expected a number/],
    [['--set', 'max_steps=[60]'], /max_steps: expected a number/],
  ]
  for (const [flags, message] of cases) {
    const {code, json} = await rfmJson(['cloud', 'launch', 'grpo', ...flags, '--dry-run'], {home})
    assert.equal(code, 2, flags.join(' '))
    assert.match(json.error.message, message)
  }
})

test("rm-eval: HF keys rfm does not know go into train_rm.py's YAML as written; the dry run shows that file", async () => {
  const file = config(
    'rm.yaml',
    `model_name_or_path: Qwen/Qwen2.5-VL-7B-Instruct\ndataset_path: ${DATA}/prefs\nsave_total_limit: 2\nreport_to: tensorboard\nlr_scheduler_type: linear\ntrainer_mode: external\nexternal: {workdir: pipeline}\n`,
  )
  const {code, json, stderr} = await rfmJson(['cloud', 'launch', 'rm-eval', '-c', file, '--dry-run'], {home})
  assert.equal(code, 0, stderr + JSON.stringify(json))
  const written = json.command.files[0].content as string
  assert.match(written, /save_total_limit: 2\nreport_to: tensorboard\nlr_scheduler_type: linear/)
  const text = await rfm(['cloud', 'launch', 'rm-eval', '-c', file, '--dry-run'], {home})
  assert.match(text.stdout, /Written for the script: .*train_config\.yaml\n(  \| .*\n)*  \| save_total_limit: 2/)
})

test("vla-sensor: the seed's flags are launch flags, unset keys stay the script's (sensor-output-dim), --mode cache runs as a job", async () => {
  const file = config('vla.yaml', `trainer_mode: external\nexternal: {workdir: pipeline, launcher: [torchrun, --nproc_per_node, "4"]}\n`)
  const {code, json, stderr} = await rfmJson(
    ['cloud', 'launch', 'vla-sensor', '-c', file, '--sensor-enabled', '--sensor-lr', '5e-4', '--grad-accum-steps', '8', '--fusion-strategy', 'none', '--set', 'sensor_output_dim=3072', '--dry-run'],
    {home},
  )
  assert.equal(code, 0, stderr + JSON.stringify(json))
  assert.deepEqual(flagsOf(json.command.argv), {
    '--nproc_per_node': '4 5st_VLA_TRAIN_VL_Lora_with_sensor.py',
    '--mode': 'train',
    '--sensor-enabled': true,
    '--fusion-strategy': 'none',
    '--sensor-lr': '0.0005',
    '--grad-accum-steps': '8',
    '--sensor-output-dim': '3072',
  })
  const cache = await rfmJson(['cloud', 'launch', 'vla-sensor', '-c', file, '--mode', 'cache', '--dry-run'], {home})
  assert.equal(cache.code, 0, cache.stderr)
  assert.deepEqual(cache.json.command.argv.slice(-2), ['--mode', 'cache'])
  assert.equal(cache.json.command.checkpoints, undefined)
})

test("the launcher's GPU count, in every spelling, sizes the Batch request; resources.gpus overrides", async () => {
  assert.equal(launcherGpus(['torchrun', '--nproc_per_node', '4', 'x.py']), 4)
  assert.equal(launcherGpus(['torchrun', '--nproc-per-node=2', 'x.py']), 2)
  assert.equal(launcherGpus(['accelerate', 'launch', '--num_processes=8', 'x.py']), 8)
  assert.equal(launcherGpus(['accelerate', 'launch', '--multi_gpu', '--num_processes', '4', 'x.py']), 4)
  assert.equal(launcherGpus(['deepspeed', '--num_gpus', '4', 'x.py']), 4)
  assert.equal(launcherGpus(['deepspeed', '--num_gpus=2', 'x.py']), 2)
  assert.equal(launcherGpus(['python', 'x.py']), undefined)

  const batchHome = tempHome()
  const profile = {backend: 'aws-batch', store: `file://${batchHome}/store`, region: 'us-east-1', queues: QUEUES, jobDefinitions: {command: JOB_DEFINITION, default: JOB_DEFINITION}}
  writeFileSync(path.join(batchHome, 'config.json'), JSON.stringify({active: 'cloud', profiles: {cloud: profile}}))
  const sft = config(
    'sft4.yaml',
    `model_name: Qwen/Qwen3-VL-4B-Instruct\nlora_rank: 16\ntrainer_mode: external\ntrainer: {external: {command: [accelerate, launch, --multi_gpu, --num_processes, "4", train_vqa_sft.py], workdir: pipeline}}\n`,
  )
  const four = await rfmJson(['cloud', 'launch', 'sft', '-c', sft, '--dry-run'], {home: batchHome})
  assert.equal(four.code, 0, four.stderr + JSON.stringify(four.json))
  assert.equal(four.json.run.backend.request.resources.gpus, 4)
  const two = await rfmJson(['cloud', 'launch', 'sft', '-c', sft, '--set', 'resources.gpus=2', '--dry-run'], {home: batchHome})
  assert.equal(two.json.run.backend.request.resources.gpus, 2)
  const plan = await rfmJson(['cloud', 'plan', 'sft', '-c', sft], {home})
  assert.equal(plan.code, 0, plan.stderr)
  assert.ok((plan.json.plans as Array<{gpus: number}>).every((p) => p.gpus === 4))
})

const SEED_003 = `model:
  name: "Qwen/Qwen2.5-VL-3B-Instruct"
  use_lora: true
  use_4bit: true
  lora: {r: 64, alpha: 16, dropout: 0.05}
training:
  num_epochs: 3
  batch_size: 1
  gradient_accumulation_steps: 8
  learning_rate: 2.0e-5
  gradient_checkpointing: true
hardware: {bf16: true, use_vllm: false}
`

test("seed 003's nested YAML: accepted by sft and grpo (mapped onto their keys); a config-file script gets it written as is", async () => {
  const builtin = await rfmJson(['cloud', 'launch', 'sft', '-c', config('s3-sft.yaml', SEED_003 + 'spatial: {train_size: 8}\n'), '--dry-run'], {home})
  assert.equal(builtin.code, 0, builtin.stderr + JSON.stringify(builtin.json))
  const c = builtin.json.run.config
  assert.deepEqual([c.lora_rank, c.lora_alpha, c.quantization, c.num_train_epochs, c.per_device_train_batch_size, c.gradient_accumulation_steps, c.learning_rate], [64, 16, true, 3, 1, 8, 2e-5])
  const grpo = await rfmJson(['cloud', 'launch', 'grpo', '-c', config('s3-grpo.yaml', SEED_003), '--dry-run'], {home})
  assert.equal(grpo.code, 0, grpo.stderr + JSON.stringify(grpo.json))
  const g = grpo.json.run.config
  assert.deepEqual([g.use_peft, g.lora_r, g.lora_alpha, g.num_train_epochs, g.per_device_train_batch_size, g.gradient_accumulation_steps, g.model_name_or_path], [true, 64, 16, 3, 1, 8, 'builtin'])

  const file = config(
    's3-ext.yaml',
    SEED_003 + 'output_dir: ./outputs/sft\ntrainer_mode: external\ntrainer: {external: {command: [python, scripts/train_sft.py], config_arg: --config, workdir: pipeline}}\n',
  )
  const ext = await rfmJson(['cloud', 'launch', 'sft', '-c', file, '--max-samples', '100', '--dry-run'], {home})
  assert.equal(ext.code, 0, ext.stderr + JSON.stringify(ext.json))
  const argv = ext.json.command.argv as string[]
  assert.deepEqual(argv.slice(0, 3), ['python', 'scripts/train_sft.py', '--config'])
  assert.deepEqual(argv.slice(4), ['--max_samples', '100'])
  const {parse} = await import('yaml')
  assert.deepEqual(parse(ext.json.command.files[0].content), {...parse(SEED_003), output_dir: './outputs/sft'})
})
