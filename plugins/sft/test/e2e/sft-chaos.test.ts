import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {assertMostKillsLanded, assertSameFinalCheckpoint, FinishedRun, launchAndPullFinal, tempHome} from '@rfm/plugin-kit/testing'

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

async function train(args: string[]): Promise<FinishedRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-sft-chaos-'))
  writeFileSync(path.join(dir, 'sft.yaml'), CONFIG)
  return launchAndPullFinal('sft', ['-c', path.join(dir, 'sft.yaml'), ...args], {home, timeoutMs: 240_000})
}

test('an SFT run with LoRA under chaos (10 kills, SIGTERM and SIGKILL) ends bitwise equal to an uninterrupted run', async () => {
  const reference = await train([])
  const chaotic = await train(['--chaos', 'kills=10,seed=11,signal=mixed,min=0.7,max=1.2'])
  assertMostKillsLanded(chaotic.run, 10)
  assert.ok(chaotic.run.attempts.filter((a) => a.resumedFromStep !== undefined).length >= 5, 'attempts resumed from checkpoints')
  for (const name of ['model.safetensors', 'optimizer.safetensors', 'merged.safetensors', 'tokenizer.json', 'sft_layout.json']) assert.ok(reference.files.has(name), `${name} in the final checkpoint`)
  assertSameFinalCheckpoint(chaotic, reference)
})
