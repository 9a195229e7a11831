/**
 * Seed 003's chain on the built-in trainers: SFT → DPO (--sft-checkpoint SFT) → GRPO
 * (--sft-checkpoint DPO), on small settings. Each stage starts from the previous one's weights; GRPO
 * runs on a checkpoint whose image tokens are modulated by the prompt (sft's default prompt_film),
 * and the sft vocabulary can spell GRPO's JSON answer format.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {rfm, rfmJson, tempHome} from '../helpers/cli'

const home = tempHome()
const SPATIAL = ['--set', 'spatial={train_size: 32, eval_size: 8, tasks: [relation], max_objects: 2}', '--set', 'max_steps=4', '--set', 'save_steps=2', '--set', 'per_device_train_batch_size=4']

async function run(args: string[]): Promise<string> {
  const {code, json, stderr} = await rfmJson(['cloud', 'launch', ...args, '--follow'], {home, timeoutMs: 120_000})
  assert.equal(code, 0, stderr + JSON.stringify(json).slice(0, 600))
  assert.equal(json.run.state, 'succeeded')
  return json.run.id as string
}

test("SFT → DPO → GRPO: each stage starts from the previous run's checkpoint; GRPO runs on a prompt-FiLM sft model", async () => {
  const sft = await run(['sft', ...SPATIAL])
  const dpo = await run(['sft', '--stage', 'dpo', '--sft-checkpoint', sft, ...SPATIAL])
  const grpo = await run([
    'grpo',
    '--sft-checkpoint',
    dpo,
    '--set',
    'max_steps=2',
    '--set',
    'per_device_train_batch_size=4',
    '--set',
    'builtin.data={train_size: 8, eval_size: 4, tasks: [relation]}',
    '--set',
    'builtin.eval_size=4',
    '--set',
    'max_completion_length=6',
  ])
  assert.match((await rfm(['cloud', 'logs', dpo], {home})).stdout, new RegExp(`loaded checkpoint step 4 of run ${sft}`))
  assert.match((await rfm(['cloud', 'logs', grpo], {home})).stdout, new RegExp(`loaded checkpoint step 4 of run ${dpo}`))

  // the vocabulary GRPO inherits spells its answer format
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-chain-'))
  const pulled = await rfm(['ckpt', 'pull', grpo, dir, '--final'], {home})
  assert.equal(pulled.code, 0, pulled.stderr)
  const tokenizer = readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')
  for (const word of ['{', '"reasoning_steps"', ':', '[', ']', ',', '"answer"', '"', '}']) assert.ok(tokenizer.includes(JSON.stringify(word)), word)
})
