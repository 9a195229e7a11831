/**
 * One external-mode switch (issue 22, item 2): `trainer_mode: builtin | external` picks the trainer
 * of sft, grpo, rm-eval and vla-sensor; the four old spellings are config errors (exit 2) that name
 * it; a kind with one trainer (vlm) refuses the key.
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {rfmJson, tempHome} from '../helpers/cli'

const home = tempHome()
const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-trainer-mode-'))
mkdirSync(path.join(dir, 'pipeline'))
for (const d of ['vqa', 'prefs']) mkdirSync(path.join(dir, 'data', d), {recursive: true})

function config(name: string, text: string): string {
  const file = path.join(dir, name)
  writeFileSync(file, text)
  return file
}

const dryRun = (kind: string, file: string, flags: string[] = []) => rfmJson(['cloud', 'launch', kind, '-c', file, ...flags, '--dry-run'], {home})

test("trainer_mode: external runs each two-trainer kind's script; builtin (the default) runs no command", async () => {
  const configs: Record<string, string> = {
    sft: 'trainer: {external: {command: [python, train_vqa_sft.py], workdir: pipeline}}\n',
    grpo: `model_name_or_path: Qwen/Qwen2-VL-2B-Instruct\ndataset_name: ${dir}/data/vqa\nexternal: {workdir: pipeline, script: grpo_rec.py}\n`,
    'rm-eval': `model_name_or_path: Qwen/Qwen2.5-VL-7B-Instruct\ndataset_path: ${dir}/data/prefs\nexternal: {workdir: pipeline}\n`,
    'vla-sensor': 'external: {workdir: pipeline}\n',
  }
  const scripts: Record<string, RegExp> = {sft: /train_vqa_sft\.py/, grpo: /grpo_rec\.py/, 'rm-eval': /train_rm\.py/, 'vla-sensor': /5st_VLA_TRAIN_VL_Lora_with_sensor\.py/}
  for (const [kind, text] of Object.entries(configs)) {
    const {code, json, stderr} = await dryRun(kind, config(`${kind}.yaml`, `trainer_mode: external\n${text}`))
    assert.equal(code, 0, `${kind}: ${stderr}`)
    assert.match(json.command.argv.join(' '), scripts[kind], kind)
    assert.doesNotMatch(json.command.argv.join(' '), /trainer_mode/, `${kind}: rfm's switch is not the script's flag`)
  }
  // the launch flag of grpo and vla-sensor writes the same key (their external blocks only say how the script runs)
  for (const kind of ['grpo', 'vla-sensor']) {
    const {code, json, stderr} = await dryRun(kind, config(`${kind}-flag.yaml`, 'trainer_mode: external\nexternal: {workdir: pipeline}\n'), ['--no-external'])
    assert.equal(code, 0, `${kind}: ${stderr}`)
    assert.equal(json.run.config.trainer_mode, 'builtin')
    assert.equal(json.command, undefined, `${kind} --no-external runs the built-in trainer`)
  }
})

test('the old switches are config errors (exit 2) whose hint names trainer_mode; vlm has one trainer and refuses the key', async () => {
  const cases: Array<[string, string, RegExp]> = [
    ['sft', 'trainer: {external: {command: [python, train.py], workdir: pipeline}}\n', /at trainer\.external: the pipeline script's settings are given, but trainer_mode is builtin/],
    ['grpo', 'external: {enabled: true, workdir: pipeline}\n', /at external\.enabled: expected nothing here \(trainer_mode is a top-level key now\)/],
    ['vla-sensor', 'mode: external\n', /at mode: expected "train" or "cache" \(the script's --mode; builtin \/ external is the top-level trainer_mode now\)/],
    ['vla-sensor', 'mode: train\n', /at mode: mode train is the pipeline script's --mode, but trainer_mode is builtin/],
    ['rm-eval', 'model_name_or_path: Qwen/Qwen2.5-VL-7B-Instruct\nexternal: {workdir: pipeline}\n', /at external: the pipeline scripts' settings are given, but trainer_mode is builtin/],
    ['rm-eval', 'model_name_or_path: Qwen/Qwen2.5-VL-7B-Instruct\n', /at model_name_or_path: .* but trainer_mode is builtin/],
  ]
  for (const [kind, text, message] of cases) {
    const {code, json} = await dryRun(kind, config(`old-${kind}.yaml`, text))
    assert.equal(code, 2, `${kind}: ${text}`)
    assert.match(json.error.message, message)
    assert.match(`${json.error.message} ${json.error.hint}`, /trainer_mode: external/)
  }
  const vlm = await rfmJson(['cloud', 'launch', 'vlm', '--set', 'trainer_mode=external', '--dry-run'], {home})
  assert.equal(vlm.code, 2)
  assert.match(vlm.json.error.message, /unknown key "trainer_mode"/)
})
