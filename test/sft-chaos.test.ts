import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import type {RunRecord} from '../src/runs/record'
import {rfm, rfmJson, tempHome} from './helpers/cli'

const home = tempHome()

// SFT with LoRA (adapters + embeddings/LM head) on generated spatial scenes, a tiny model (width 32,
// 16 px, 4 patches): ~150 optimizer steps of a few tens of ms, more than 10 kills 0.7–1.2 s after
// each start can stop. Checkpoints every 5 steps, retention keeps 2 (plus final).
const CONFIG = `
spatial: {train_size: 96, eval_size: 0, seed: 3}
lora_rank: 4
lora_alpha: 8
learning_rate: 3.0e-3
warmup_ratio: 0.1
per_device_train_batch_size: 4
gradient_accumulation_steps: 2
max_steps: 150
save_steps: 5
save_total_limit: 2
logging_steps: 5
report_to: none
builtin:
  model: {width: 32, depth: 1, heads: 2, context_length: 24, image_size: 16, patch_size: 8, vision_width: 32, dropout: 0.1}
`

async function train(args: string[]): Promise<{run: RunRecord; files: Map<string, Buffer>}> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-sft-chaos-'))
  writeFileSync(path.join(dir, 'sft.yaml'), CONFIG)
  const {code, json, stderr} = await rfmJson(['cloud', 'launch', 'sft', '-c', path.join(dir, 'sft.yaml'), '--follow', ...args], {home, timeoutMs: 240_000})
  assert.equal(code, 0, stderr)
  const run = json.run as RunRecord
  const pulled = await rfm(['ckpt', 'pull', run.id, path.join(dir, 'final'), '--final'], {home})
  assert.equal(pulled.code, 0, pulled.stderr)
  return {run, files: new Map(readdirSync(path.join(dir, 'final')).map((f) => [f, readFileSync(path.join(dir, 'final', f))]))}
}

test('an SFT run with LoRA under chaos (10 kills, SIGTERM and SIGKILL) ends bitwise equal to an uninterrupted run', async () => {
  const reference = await train([])
  const chaotic = await train(['--chaos', 'kills=10,seed=11,signal=mixed,min=0.7,max=1.2'])
  // Kills come at random times after each start; on a fast machine the run may end before the last
  // ones, so the test asks for most of them (the bitwise comparison below is what matters).
  const landed = chaotic.run.attempts.filter((a) => a.chaos).length
  assert.ok(landed >= 5 && landed <= 10, `${landed} of 10 kills landed`)
  assert.ok(chaotic.run.attempts.filter((a) => a.resumedFromStep !== undefined).length >= 5, 'attempts resumed from checkpoints')
  assert.deepEqual([...chaotic.files.keys()].sort(), [...reference.files.keys()].sort())
  for (const name of ['model.safetensors', 'optimizer.safetensors', 'merged.safetensors', 'tokenizer.json', 'sft_layout.json']) assert.ok(reference.files.has(name), `${name} in the final checkpoint`)
  for (const [name, bytes] of reference.files) {
    if (name === 'trainer_state.json') continue
    assert.ok(bytes.equals(chaotic.files.get(name)!), `${name} differs`)
  }
  // equal training state, apart from the record of where the run was resumed
  const state = (files: Map<string, Buffer>) => {
    const parsed = JSON.parse(files.get('trainer_state.json')!.toString('utf8')) as {scheduler: {resumedAt: number[]}}
    parsed.scheduler.resumedAt = []
    return parsed
  }
  assert.deepEqual(state(chaotic.files), state(reference.files))
})
