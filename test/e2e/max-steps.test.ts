/**
 * One `max_steps` for every kind (issue 22, item 2): `--set max_steps=N` is accepted by sft, grpo,
 * rm-eval, vla-sensor and vlm, caps a real built-in run at N optimizer steps in each (every config
 * below has more steps per epoch than N), reaches the pipeline's script in external mode, and the old
 * addresses (trainer.max_steps, builtin.max_steps) are config errors (exit 2) whose hint names it.
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {rfmJson, tempHome} from '../helpers/cli'

const home = tempHome()
const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-max-steps-'))
mkdirSync(path.join(dir, 'pipeline'))
for (const d of ['vqa', 'prefs']) mkdirSync(path.join(dir, 'data', d), {recursive: true})

const TINY_VLM = 'builtin.model={width: 16, depth: 1, heads: 2, vision_width: 16}'

/** Tiny built-in runs, each with more than 3 optimizer steps per epoch. */
const BUILTIN: Record<string, string[]> = {
  // 64 samples / batch 4 = 16 steps
  vlm: [
    'model={width: 16, depth: 1, heads: 2, context_length: 8, vision: {image_size: 8, patch_size: 4, width: 16, depth: 1, heads: 2}}',
    'task={train_size: 64, eval_size: 8}',
    'trainer.batch_size=4',
  ],
  // 32 scenes / batch 2 = 16 steps
  sft: ['spatial={train_size: 32, eval_size: 8}', 'per_device_train_batch_size=2', 'gradient_accumulation_steps=1', TINY_VLM],
  // 16 prompts / 2 per step (4 completions, 2 per prompt) = 8 steps
  grpo: ['per_device_train_batch_size=4', 'num_generations=2', 'builtin.data={train_size: 16, eval_size: 2}', 'builtin.eval_size=2', 'max_completion_length=8', TINY_VLM],
  // 64 pairs / batch 4 = 16 steps
  'rm-eval': ['per_device_train_batch_size=4', TINY_VLM, 'builtin.data={train_size: 64, eval_size: 4}'],
  // ~20 training windows / batch 1 = ~20 steps
  'vla-sensor': [
    'builtin.model={width: 16, vl_depth: 1, heads: 2, hidden: 32, sensor_channels: 8}',
    'data.generated={sessions: 6, steps_per_session: 4, image_size: 16}',
    'vl_encoder={feature_dim: 16}',
    'sensor_output_dim=16',
    'grad_accum_steps=1',
  ],
}

const sets = (values: string[]) => values.flatMap((v) => ['--set', v])

for (const [kind, values] of Object.entries(BUILTIN)) {
  test(`${kind}: --set max_steps=3 is recorded top level and stops a built-in run after 3 optimizer steps`, async () => {
    const {code, json, stderr} = await rfmJson(['cloud', 'launch', kind, ...sets(values), '--set', 'max_steps=3', '--follow'], {home, timeoutMs: 120_000})
    assert.equal(code, 0, stderr)
    assert.equal(json.run.config.max_steps, 3)
    assert.equal(json.run.state, 'succeeded')
    assert.deepEqual(
      json.run.attempts.map((a: {lastCheckpointStep: number}) => a.lastCheckpointStep),
      [3],
    )
  })
}

test('the old addresses of max_steps are config errors (exit 2) that name the top-level key', async () => {
  for (const [kind, key] of [
    ['vlm', 'trainer.max_steps'],
    ['rm-eval', 'builtin.max_steps'],
    ['vla-sensor', 'builtin.max_steps'],
  ]) {
    const {code, json} = await rfmJson(['cloud', 'launch', kind, '--set', `${key}=3`, '--dry-run'], {home})
    assert.equal(code, 2, `${kind} ${key}`)
    assert.match(json.error.message, new RegExp(`at ${key.replace('.', '\\.')}: expected nothing here \\(max_steps is a top-level key now\\)`))
    assert.match(json.error.hint, /--set max_steps=N/)
  }
})

test("external mode hands max_steps to the script when set: --max_steps (sft, grpo), --max-steps (vla-sensor's dashed flags), the YAML (rm-eval)", async () => {
  const write = (name: string, text: string) => {
    const file = path.join(dir, name)
    writeFileSync(file, text)
    return file
  }
  const argvOf = async (kind: string, file: string) => {
    const {code, json, stderr} = await rfmJson(['cloud', 'launch', kind, '-c', file, '--set', 'max_steps=7', '--dry-run'], {home})
    assert.equal(code, 0, stderr + JSON.stringify(json))
    return json.command as {argv: string[]; files?: {content: string}[]}
  }
  const sft = await argvOf('sft', write('sft.yaml', 'trainer_mode: external\ntrainer: {external: {command: [python, train_vqa_sft.py], workdir: pipeline}}\n'))
  assert.match(sft.argv.join(' '), / --max_steps 7( |$)/)
  const grpo = await argvOf(
    'grpo',
    write('grpo.yaml', `model_name_or_path: Qwen/Qwen2-VL-2B-Instruct\ndataset_name: ${dir}/data/vqa\ntrainer_mode: external\nexternal: {workdir: pipeline, script: grpo_rec.py}\n`),
  )
  assert.match(grpo.argv.join(' '), / --max_steps 7( |$)/)
  const vla = await argvOf('vla-sensor', write('vla.yaml', 'trainer_mode: external\nexternal: {workdir: pipeline}\n'))
  assert.match(vla.argv.join(' '), / --max-steps 7( |$)/)
  const rm = await argvOf('rm-eval', write('rm.yaml', `model_name_or_path: Qwen/Qwen2.5-VL-7B-Instruct\ndataset_path: ${dir}/data/prefs\ntrainer_mode: external\nexternal: {workdir: pipeline}\n`))
  assert.match(rm.files![0].content, /^max_steps: 7$/m)
  // unset, it is not passed: the script's own default applies
  const unset = await rfmJson(['cloud', 'launch', 'sft', '-c', path.join(dir, 'sft.yaml'), '--dry-run'], {home})
  assert.doesNotMatch((unset.json.command.argv as string[]).join(' '), /--max_steps/)
})
