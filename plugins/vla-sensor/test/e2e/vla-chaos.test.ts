import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {TestRun as RunRecord, assertMostKillsLanded, assertSameFinalCheckpoint, trainingState, rfm, rfmJson, tempHome} from '@rfm/plugin-kit/testing'

const home = tempHome()
const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-vla-chaos-'))

// The pipeline's full 650 × 1026 sensor windows (generated per batch), LoRA with dropout (the RNG is in
// the state), grad accumulation, the balanced sampler and ReWarm over the first 40 of 120 steps:
// ≈ 20-70 ms a step here, so most of 5 kills 1.5–3 s after each start land while it trains.
const CONFIG = `
data:
  generated: {sessions: 12, sensor_every: 4, steps_per_session: 8, image_size: 16}
vl_encoder: {feature_dim: 16}
sensor_output_dim: 16
sampler: balanced
lr: 2.0e-3
sensor_lr: 4.0e-3
vl_lr: 1.0e-3
vision_lr: 5.0e-4
finetune_vl: lora
lora_r: 4
lora_dropout: 0.1
batch_size: 2
grad_accum_steps: 2
epochs: 40
rewarm_steps: 40
max_steps: 120
builtin:
  backend: wasm
  model: {width: 16, vl_depth: 1, heads: 2, hidden: 32, sensor_channels: 8}
`

async function launch(args: string[], name: string): Promise<{run: RunRecord; files: Map<string, Buffer>}> {
  const {code, json, stderr} = await rfmJson(['cloud', 'launch', 'vla-sensor', '-c', path.join(dir, 'train.yaml'), '--follow', ...args], {home, timeoutMs: 240_000})
  assert.equal(code, 0, stderr)
  const run = json.run as RunRecord
  const out = path.join(dir, name)
  const pulled = await rfm(['ckpt', 'pull', run.id, out, '--final'], {home})
  assert.equal(pulled.code, 0, pulled.stderr)
  return {run, files: new Map(readdirSync(out).map((f) => [f, readFileSync(path.join(out, f))]))}
}

test('a stage-2 vla-sensor run (650 × 1026 windows, ReWarm) under chaos (5 kills, SIGTERM and SIGKILL) ends bitwise equal to an uninterrupted one', async () => {
  writeFileSync(path.join(dir, 'train.yaml'), CONFIG)
  // stage 1: no sensor, a few steps
  const stage1 = await launch(['--no-sensor-enabled', '--set', 'max_steps=10'], 'stage1')
  const stage2 = ['--sensor-enabled', '--stage1-checkpoint', `${stage1.run.id}@final`]
  const reference = await launch(stage2, 'reference')
  const chaotic = await launch([...stage2, '--chaos', 'kills=5,seed=2,signal=mixed,min=1.5,max=3'], 'chaotic')
  assertMostKillsLanded(chaotic.run, 5)
  assert.ok(chaotic.run.attempts.filter((a) => a.resumedFromStep !== undefined).length >= 2, 'attempts resumed from checkpoints')
  assertSameFinalCheckpoint(chaotic, reference)
  assert.equal((trainingState(reference.files).state as {global_step: number}).global_step, 120)
  // the stage-2 run really started from stage 1: its log names the stage-1 run
  const logs = await rfm(['cloud', 'logs', reference.run.id], {home})
  assert.match(logs.stdout, new RegExp(`stage 2: started from ${stage1.run.id}`))
})
