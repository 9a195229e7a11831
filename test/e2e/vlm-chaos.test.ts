import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {assertMostKillsLanded, assertSameFinalCheckpoint, type FinishedRun, launchAndPullFinal, trainingState} from '../helpers/chaos-run'
import {tempHome} from '../helpers/cli'

const home = tempHome()

// LM with LoRA and a frozen vision tower, grad accumulation 2, cosine schedule (issue 5's scenario).
// 250 steps of ~35 ms: more than 10 attempts killed 0.7–1.2 s after they start can do.
const CONFIG = `
max_steps: 250
trainer:
  batch_size: 4
  grad_accum: 2
  save_steps: 5
  freeze_vision_tower: true
  lora: {rank: 4, alpha: 8}
  scheduler: {kind: cosine, warmup_ratio: 0.1}
task: {train_size: 128, eval_size: 16}
`

async function train(args: string[]): Promise<FinishedRun & {losses: Map<number, number>}> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-vlm-'))
  writeFileSync(path.join(dir, 'job.yaml'), CONFIG)
  const finished = await launchAndPullFinal('vlm', ['-c', path.join(dir, 'job.yaml'), ...args], {home, timeoutMs: 180_000})
  // the last value logged for each step (a step redone after a SIGKILL is logged twice)
  const losses = new Map<number, number>()
  for (const line of readFileSync(path.join(home, 'store', 'runs', finished.run.id, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')) {
    const record = JSON.parse(line) as {step: number; loss?: number}
    if (record.loss !== undefined) losses.set(record.step, record.loss)
  }
  return {...finished, losses}
}

test('a built-in training run under chaos kills=10,signal=mixed ends bitwise equal to an uninterrupted run', async () => {
  const reference = await train([])
  const chaotic = await train(['--chaos', 'kills=10,seed=3,signal=mixed,min=0.7,max=1.2'])
  const landed = assertMostKillsLanded(chaotic.run, 10)
  if (landed === 10) assert.ok(chaotic.run.attempts.some((a) => a.chaos === 'SIGKILL') && chaotic.run.attempts.some((a) => a.chaos === 'SIGTERM'))
  assert.ok(chaotic.run.attempts.filter((a) => a.resumedFromStep !== undefined).length >= 5, 'attempts resumed from checkpoints')
  assert.match(chaotic.run.attempts.at(-1)?.trainerBackend ?? '', /wasm|cpu|tensorflow/)
  // The trainer state is compared without the record of where the run was resumed (which the
  // optional re-warm after resume uses): history, not training state.
  assertSameFinalCheckpoint(chaotic, reference)
  assert.ok(trainingState(chaotic.files).resumedAt.length >= 5)
  assert.equal(chaotic.losses.size, 250)
  assert.deepEqual([...chaotic.losses.entries()], [...reference.losses.entries()], 'the loss curve is identical, step for step')
})
