/**
 * The grpo kind through the real CLI and runtime: launch flags, config errors, the warmup stage
 * feeding --sft-checkpoint, a chaos run (SIGTERM and SIGKILL) bitwise equal to an uninterrupted one,
 * and the external mode (the pipeline's grpo_rec.py, here a stand-in script) with checkpoint sync.
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {TestRun as RunRecord, assertMostKillsLanded, assertSameFinalCheckpoint, FinishedRun, launchAndPullFinal, rfm, rfmJson, ROOT, tempHome} from '@rfm/plugin-kit/testing'

const home = tempHome()
const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-grpo-cli-'))

const WARMUP = `
seed: 2
max_steps: 20
learning_rate: 5.0e-3
per_device_train_batch_size: 8
builtin:
  stage: warmup
  model: {width: 16, depth: 1, heads: 2, vision_width: 16, context_length: 40}
  data: {train_size: 64, eval_size: 8, max_reference_steps: 0}
`
// 80 steps of 2 micro-batches, 2 optimizer steps per generation batch, a checkpoint every 3 steps:
// most checkpoints (and stops) land with a generation batch in flight. ≈ 15–20 s uninterrupted, so
// 5 kills 1.2–2 s after each start all land.
const GRPO = `
seed: 2
max_steps: 80
learning_rate: 1.0e-3
num_generations: 4
per_device_train_batch_size: 4
gradient_accumulation_steps: 2
num_iterations: 2
max_completion_length: 10
beta: 0.05
save_steps: 3
builtin:
  data: {train_size: 64, eval_size: 8, max_reference_steps: 0}
  eval_size: 8
`
writeFileSync(path.join(dir, 'warmup.yaml'), WARMUP)
writeFileSync(path.join(dir, 'grpo.yaml'), GRPO)

test('launch flags set config keys; bad values and inconsistent keys are exit-2 errors naming them', async () => {
  const {code, json} = await rfmJson(
    ['cloud', 'launch', 'grpo', '-c', path.join(dir, 'grpo.yaml'), '--reward-funcs', 'format', 'accuracy', 'reasoning', '--skip-invalid', '--loss-type', 'dr_grpo', '--debug-log', 'dbg', '--dry-run'],
    {home},
  )
  assert.equal(code, 0, JSON.stringify(json))
  const config = json.run.config
  assert.deepEqual(config.reward_funcs, ['format', 'accuracy', 'reasoning'])
  assert.equal(config.skip_invalid, true)
  assert.equal(config.loss_type, 'dr_grpo')
  assert.equal(config.debug_log, 'dbg')
  assert.equal(config.dataset_name, null, 'generated data is recorded as null (nothing to stage)')
  assert.equal(json.command, undefined, 'the built-in trainer runs: no external command')

  const bad = await rfmJson(['cloud', 'launch', 'grpo', '-c', path.join(dir, 'grpo.yaml'), '--reward-funcs', 'format', 'bogus'], {home})
  assert.equal(bad.code, 2)
  assert.match(bad.json.error.message, /--reward-funcs: "bogus" is not one of format, accuracy, reasoning, spatial, counting, combined/)
  const groups = await rfmJson(['cloud', 'launch', 'grpo', '-c', path.join(dir, 'grpo.yaml'), '--set', 'num_generations=3'], {home})
  assert.equal(groups.code, 2)
  assert.match(groups.json.error.message, /per_device_train_batch_size/)
  const weights = await rfmJson(['cloud', 'launch', 'grpo', '-c', path.join(dir, 'grpo.yaml'), '--set', 'reward_weights=[1,2,3]'], {home})
  assert.equal(weights.code, 2)
  assert.match(weights.json.error.message, /reward_weights/)
})

async function launch(args: string[]): Promise<FinishedRun> {
  return launchAndPullFinal('grpo', args, {home, timeoutMs: 180_000})
}

test('warmup stage → --sft-checkpoint; a GRPO run under chaos (5 kills, mixed signals) ends bitwise equal to an uninterrupted one', async () => {
  const warm = await launch(['-c', path.join(dir, 'warmup.yaml')])
  assert.ok(['model.safetensors', 'model_config.json', 'tokenizer.json'].every((f) => warm.files.has(f)))

  const reference = await launch(['-c', path.join(dir, 'grpo.yaml'), '--sft-checkpoint', warm.run.id, '--debug-log', 'dbg'])
  const events = await rfm(['cloud', 'logs', reference.run.id], {home})
  assert.match(events.stdout, new RegExp(`loaded checkpoint step 20 of run ${warm.run.id}`))
  // the built-in trainer's --debug-log files are the run's outputs (not left in a temp folder)
  const outputs = await rfmJson(['cloud', 'outputs', reference.run.id], {home})
  assert.equal(outputs.code, 0, outputs.stderr)
  assert.ok(
    (outputs.json.files as Array<{path: string}>).some((f) => /^dbg\/debug_\w+\.txt$/.test(f.path)),
    JSON.stringify(outputs.json.files),
  )

  const chaotic = await launch(['-c', path.join(dir, 'grpo.yaml'), '--sft-checkpoint', warm.run.id, '--chaos', 'kills=5,seed=3,signal=mixed,min=1.2,max=2'])
  assertMostKillsLanded(chaotic.run, 5)
  assert.ok(chaotic.run.attempts.filter((a) => a.resumedFromStep !== undefined).length >= 2, 'attempts resumed from checkpoints')
  assertSameFinalCheckpoint(chaotic, reference)
  const logs = await rfm(['cloud', 'logs', chaotic.run.id], {home})
  assert.match(logs.stdout, /with generation batch \d+ in flight/, 'some attempt resumed on a batch in flight')
})

const FAKE_SCRIPT = `
// Stands in for grpo_rec.py: records its argv, writes checkpoint-<step>/ (trainer_state.json last)
// every 0.6 s up to step 4, continuing from the folder --resume_from_checkpoint names.
const fs = require('fs'), path = require('path')
const args = process.argv.slice(2)
const flag = (n) => args[args.indexOf('--' + n) + 1]
const out = flag('output_dir')
fs.mkdirSync(out, {recursive: true})
fs.appendFileSync(path.join(out, '..', 'argv.jsonl'), JSON.stringify({args, env: {DEBUG_MODE: process.env.DEBUG_MODE, LOG_PATH: process.env.LOG_PATH}}) + '\\n')
let step = 0
if (args.includes('--resume_from_checkpoint')) step = JSON.parse(fs.readFileSync(path.join(flag('resume_from_checkpoint'), 'trainer_state.json'), 'utf8')).global_step
const next = () => {
  if (step >= 4) return
  step += 1
  const ck = path.join(out, 'checkpoint-' + step)
  fs.mkdirSync(ck, {recursive: true})
  fs.writeFileSync(path.join(ck, 'model.safetensors'), 'weights at ' + step)
  fs.writeFileSync(path.join(ck, 'trainer_state.json'), JSON.stringify({global_step: step, log_history: []}))
  setTimeout(next, 600)
}
next()
`

test('external mode: grpo_rec.py with the config mapped onto its flags; --dry-run shows the command; interrupted, it resumes from the restored checkpoint', async () => {
  const pipeline = path.join(dir, 'pipeline')
  mkdirSync(path.join(pipeline, 'data'), {recursive: true})
  writeFileSync(path.join(pipeline, 'fake_grpo_rec.js'), FAKE_SCRIPT)
  writeFileSync(path.join(pipeline, 'data', 'dataset_info.json'), '{}')
  const config = path.join(pipeline, 'external.yaml')
  writeFileSync(
    config,
    `model_name_or_path: Qwen/Qwen2-VL-7B-Instruct
dataset_name: data
reward_funcs: [format, accuracy, reasoning]
output_dir: out/qwen2vl-vqa-grpo
num_generations: 8
per_device_train_batch_size: 4
gradient_accumulation_steps: 4
learning_rate: 1.0e-5
save_steps: 1
use_peft: true
bf16: true
debug_log: logs
trainer_mode: external
external: {python: node, script: fake_grpo_rec.js, workdir: .}
`,
  )
  const dry = await rfmJson(['cloud', 'launch', 'grpo', '-c', config, '--dry-run'], {home})
  assert.equal(dry.code, 0, JSON.stringify(dry.json))
  const argv = dry.json.command.argv as string[]
  assert.deepEqual(argv.slice(0, 2), ['node', 'fake_grpo_rec.js'])
  const after = (f: string, n = 1) => argv.slice(argv.indexOf(f) + 1, argv.indexOf(f) + 1 + n)
  assert.deepEqual(after('--model_name_or_path'), ['Qwen/Qwen2-VL-7B-Instruct'])
  assert.deepEqual(after('--reward_funcs', 3), ['format', 'accuracy', 'reasoning'])
  assert.deepEqual(after('--num_generations'), ['8'])
  assert.ok(argv.includes('--use_huggingface_dataset') && argv.includes('--bf16') && argv.includes('--use_peft'))
  assert.ok(!argv.includes('--beta') && !argv.includes('--target_modules') && !argv.includes('--lora_r'), 'keys the user did not set are left to the script')
  assert.equal(dry.json.command.env.DEBUG_MODE, 'true')
  assert.equal(dry.json.command.checkpoints.dir, path.join(pipeline, 'out', 'qwen2vl-vqa-grpo'))
  assert.deepEqual(dry.json.command.checkpoints.resumeArgs, ['--resume_from_checkpoint', '{checkpoint}'])

  // the built-in rewards spatial/counting/combined are not the script's
  const refused = await rfmJson(['cloud', 'launch', 'grpo', '-c', config, '--reward-funcs', 'format', 'spatial', '--dry-run'], {home})
  assert.equal(refused.code, 2)
  assert.match(refused.json.error.message, /grpo_rec\.py has no spatial reward/)
  // the built-in trainer's LLM grader is not the script's: refused, not passed on or dropped
  const graded = await rfmJson(['cloud', 'launch', 'grpo', '-c', config, '--set', 'llm_grader={"base_url":"http://127.0.0.1:11434/v1","model":"llama3.2"}', '--dry-run'], {home})
  assert.equal(graded.code, 2, JSON.stringify(graded.json))
  assert.equal(graded.json.error.details.path, 'llm_grader')
  assert.match(graded.json.error.message, /grpo_rec\.py has no llm_grader setting/)

  // interrupted once (SIGTERM): the second attempt gets the restored checkpoint's folder and continues
  const {code, json, stderr} = await rfmJson(['cloud', 'launch', 'grpo', '-c', config, '--follow', '--chaos', 'kills=1,seed=1,signal=TERM,min=1.2,max=1.4'], {home, timeoutMs: 60_000})
  assert.equal(code, 0, stderr + JSON.stringify(json))
  const calls = readFileSync(path.join(pipeline, 'out', 'argv.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as {args: string[]; env: Record<string, string>})
  assert.equal(calls.length, 2)
  assert.ok(!calls[0].args.includes('--resume_from_checkpoint'))
  const resumedFrom = calls[1].args[calls[1].args.indexOf('--resume_from_checkpoint') + 1]
  assert.match(resumedFrom, /out\/qwen2vl-vqa-grpo\/checkpoint-\d$/)
  assert.equal(calls[1].env.DEBUG_MODE, 'true')
  const list = await rfmJson(['ckpt', 'ls', json.run.id], {home})
  assert.deepEqual((list.json.checkpoints as {step: number}[]).map((c) => c.step).sort(), [1, 2, 3, 4])
})

test('every examples/grpo config validates; the external example is sized by the planner from its model', async () => {
  const examples = path.join(ROOT, 'examples', 'grpo')
  for (const file of readdirSync(examples).filter((f) => f.endsWith('.yaml'))) {
    const {code, json} = await rfmJson(['cloud', 'launch', 'grpo', '-c', path.join(examples, file), '--dry-run'], {home})
    // the dry run checks dataset paths like the launch (after the config validated): the HF examples name a placeholder
    if (/\/path\/to\/your\//.test(readFileSync(path.join(examples, file), 'utf8')))
      assert.match(json.error?.message ?? '', /dataset_name: the dataset path \/path\/to\/your\/huggingface\/dataset does not exist/, file)
    else assert.equal(code, 0, `${file}: ${JSON.stringify(json.error)}`)
  }
  const plan = await rfm(['cloud', 'plan', 'grpo', '-c', path.join(examples, 'external-qwen2vl.yaml')], {home})
  assert.equal(plan.code, 0, plan.stderr)
  assert.match(plan.stdout, /grpo of Qwen\/Qwen2-VL-7B-Instruct \(7B\), full/)
  // deepspeed --num_gpus 4 fixes the instance's GPU count
  assert.match(plan.stdout, /\b4 ?(×|x) ?[A-Z0-9]+|4 GPUs/)
  assert.match(plan.stdout, /reference/)
})
