import assert from 'node:assert/strict'
import {test} from 'node:test'

import type {SavedCheckpoint} from '../../../../dist/src/plugin-api'
import {MemoryCheckpoints, trainerContext} from '../../../../dist/test/helpers/trainer-context'
import {api, smallConfig, vla} from '../plugin'

// CPU budget (wasm, one thread): 144 generated sessions (8 with sensor) × 16 steps, a 100 × 129 sensor
// window, width 32; 6 epochs (648 steps of batch 32) ≈ 10 s with the sensor, ≈ 5 s without; the other
// fusions 1 epoch each. Measured: concat 0.064 vs baseline 0.117 action MAE on sensor-dependent steps.
const EPOCHS = 6

async function train(config: Record<string, unknown>, extra: {loadRunCheckpoint?: (ref: string) => Promise<SavedCheckpoint & {runId: string}>} = {}) {
  const checkpoints = new MemoryCheckpoints()
  const ctx = {...trainerContext(config, checkpoints), ...extra}
  const result = await vla.train.trainVla(api, ctx)
  const evals = ctx.metrics.filter((m) => 'val/loss_epoch' in m.values)
  return {result, ctx, checkpoints, last: evals.at(-1)!.values, evals}
}

// The no-sensor baseline: test 1 compares against it, test 3 starts stage 2 from its last checkpoint.
// Trained once, by whichever test needs it first, so each test also runs alone (--test-name-pattern).
let baselineRun: ReturnType<typeof train> | undefined
const baseline = () => (baselineRun ??= train(smallConfig({sensor_enabled: false, epochs: EPOCHS})))

test('concat fusion with the sensor beats the no-sensor baseline by ≥ 30 % action MAE on sensor-dependent steps', async (t) => {
  const base = await baseline()
  const fused = await train(smallConfig({sensor_enabled: true, fusion_strategy: 'concat', epochs: EPOCHS}))
  const [b, f] = [base.last['val/mae_sensor_dependent'], fused.last['val/mae_sensor_dependent']]
  t.diagnostic(
    `sensor-dependent MAE: baseline ${b.toFixed(4)}, concat ${f.toFixed(4)} (${(100 * (1 - f / b)).toFixed(1)} % lower); no-sensor sessions: ${base.last['val/mae_no_sensor'].toFixed(4)} vs ${fused.last['val/mae_no_sensor'].toFixed(4)}`,
  )
  assert.ok(f <= 0.7 * b, `concat ${f} vs baseline ${b}`)
  // the balanced sampler: half of every epoch comes from the 5 % of samples that carry a sensor
  for (const e of fused.evals) assert.ok(Math.abs(e.values['train/sensor_ratio'] - 0.5) < 0.02, `epoch sensor ratio ${e.values['train/sensor_ratio']}`)
  // the pipeline's metrics, with its names
  const names = new Set(fused.ctx.metrics.flatMap((m) => Object.keys(m.values)))
  for (const n of [
    'train/loss_step',
    'train/loss_epoch',
    'train/lr',
    'train/lr_sensor',
    'train/lr_vl',
    'train/lr_vision',
    'train/grad_norm',
    'train/sensor_samples',
    'train/sensor_ratio',
    'val/loss_epoch',
    'params/trainable_M',
    'params/frozen_M',
    'lora/avg_weight_abs',
    'system/cpu_mem_%',
  ])
    assert.ok(names.has(n), `metric ${n}`)
  // a checkpoint per epoch, each with epoch, scheduler and val loss; the last one is final
  const saved = fused.checkpoints.saved
  assert.equal(saved.length, EPOCHS)
  assert.ok(saved.every((s) => typeof s.state.epoch === 'number' && typeof s.state.val_loss === 'number' && s.state.scheduler && s.files['optimizer.safetensors'] && s.files['vla.json']))
  assert.ok(saved.at(-1)!.final)
})

test('cross_attention, gated and none fusion train without error; the random sampler keeps the natural sensor ratio', async (t) => {
  const rows: string[] = []
  for (const fusion of ['cross_attention', 'gated', 'none']) {
    const run = await train(smallConfig({sensor_enabled: true, fusion_strategy: fusion}))
    assert.equal(run.result.finished, true)
    assert.ok(Number.isFinite(run.last['val/loss_epoch']) && Number.isFinite(run.last['val/mae_sensor_dependent']), fusion)
    const losses = run.ctx.metrics.filter((m) => 'train/loss_step' in m.values).map((m) => m.values['train/loss_step'])
    assert.ok(losses.at(-1)! < losses[0], `${fusion}: loss ${losses[0]} → ${losses.at(-1)}`)
    rows.push(`${fusion} ${run.last['val/mae_sensor_dependent'].toFixed(4)}`)
  }
  t.diagnostic(`1 epoch, sensor-dependent MAE: ${rows.join(', ')}`)
  const random = await train(smallConfig({sensor_enabled: true, sampler: 'random'}))
  const ratio = random.last['train/sensor_ratio']
  assert.ok(ratio > 0.02 && ratio < 0.1, `random sampler ratio ${ratio}`)
})

test('two-stage: stage 2 starts from the stage-1 weights with the sensor enabled, and ReWarm ramps every rate up', async () => {
  const stage1 = (await baseline()).checkpoints.saved.at(-1)!
  const refs: string[] = []
  const loadRunCheckpoint = async (ref: string) => {
    refs.push(ref)
    return {...stage1, runId: 'stage1-run'}
  }
  const config = smallConfig({sensor_enabled: true, stage1_checkpoint: 'stage1-run@best', rewarm_steps: 20, max_steps: 30})
  const stage2 = await train(config, {loadRunCheckpoint})
  assert.deepEqual(refs, ['stage1-run@best'])
  const note = stage2.ctx.logs.find((l) => l.startsWith('stage 2:'))!
  assert.match(note, /stage1-run step \d+; new parameters: .*sensor\.in\.weight.*fusion\.proj\.weight/)
  assert.doesNotMatch(note, /action\.|vl\.blocks/)
  const plain = await train({...config, rewarm_steps: 0}, {loadRunCheckpoint})
  const lr = (run: typeof stage2, step: number) => run.ctx.metrics.find((m) => m.step === step && 'train/lr' in m.values)!.values['train/lr']
  for (const step of [1, 5, 10, 20, 25]) assert.ok(Math.abs(lr(stage2, step) - lr(plain, step) * Math.min(1, step / 20)) < 1e-12, `step ${step}`)
})
