import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {assertMostKillsLanded, assertSameFinalCheckpoint, FinishedRun, launchAndPullFinal, rfmJson, tempHome} from '@rfm/plugin-kit/testing'

const home = tempHome()

// A small reward model with irrelevant-query pairs, margin, centering and dropout (the RNG is in the
// state): ~120 steps of a few tens of ms, more than 6 kills 0.7–1.2 s after each start can stop.
const CONFIG = `
per_device_train_batch_size: 4
gradient_accumulation_steps: 2
learning_rate: 2.0e-3
warmup_steps: 5
use_irrelevant_queries: true
margin: 0.2
center_rewards_coefficient: 0.01
disable_dropout: false
save_steps: 5
max_steps: 120
builtin:
  model: {width: 32, heads: 2, vision_width: 32, depth: 1}
  data: {train_size: 64, eval_size: 16}
`

async function train(args: string[]): Promise<FinishedRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-rm-chaos-'))
  writeFileSync(path.join(dir, 'train.yaml'), CONFIG)
  return launchAndPullFinal('rm-eval', ['-c', path.join(dir, 'train.yaml'), ...args], {home, timeoutMs: 400_000})
}

test('an rm-eval training run under chaos (6 kills, SIGTERM and SIGKILL) ends bitwise equal to an uninterrupted run', async () => {
  const reference = await train([])
  const chaotic = await train(['--chaos', 'kills=6,seed=5,signal=mixed,min=0.7,max=1.2'])
  assertMostKillsLanded(chaotic.run, 6)
  assert.ok(chaotic.run.attempts.filter((a) => a.resumedFromStep !== undefined).length >= 3, 'attempts resumed from checkpoints')
  assertSameFinalCheckpoint(chaotic, reference)

  // rm-eval eval takes run ids in model_dirs: every committed checkpoint is pulled (verified) and scored
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-rm-chaos-eval-'))
  writeFileSync(path.join(dir, 'eval.yaml'), `model_dirs: [${reference.run.id}]\nbuiltin: {data: {size: 16}}\n`)
  const listed = await rfmJson(['ckpt', 'ls', reference.run.id], {home})
  const evaluated = await rfmJson(['rm-eval', 'eval', path.join(dir, 'eval.yaml')], {home, timeoutMs: 300_000})
  assert.equal(evaluated.code, 0, evaluated.stderr)
  const rows = evaluated.json.results as {checkpoint: string; step: number; status: string; sample_count: number}[]
  assert.deepEqual(
    rows.map((r) => r.step),
    (listed.json.checkpoints as {step: number}[]).map((c) => c.step),
  )
  assert.ok(rows.every((r) => r.status === 'ok' && r.sample_count === 16 && r.checkpoint === `checkpoint-${r.step}`))
})
