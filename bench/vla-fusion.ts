/**
 * `npm run bench -- vla-fusion [--epochs N] [--seeds N]`
 * The four fusion strategies against the no-sensor baseline on the synthetic needle-insertion task,
 * at one budget: 144 sessions (8 with sensor, 1 per 17 without) × 16 steps, 100 × 129 sensor windows,
 * width 32, LoRA r 4, balanced sampler, batch 32, `--epochs` (default 6 = 648 steps), wasm backend.
 * Prints a markdown table: action MAE on the sensor-dependent steps of held-out sensor sessions and
 * its ratio to the baseline, MAE on held-out sessions without sensor, val loss, trainable parameters,
 * and training time ÷ the baseline's, all measured in this run (means over seeds).
 */
import * as path from 'node:path'

import {pluginApi} from '../src/plugin-api/host'
import {MemoryCheckpoints, trainerContext} from '../test/helpers/trainer-context'
import {timeMs} from './_stats'

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}

export default async function (args: string[]): Promise<void> {
  const epochs = arg(args, 'epochs', 6)
  const seeds = arg(args, 'seeds', 2)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const {trainVla} = require(path.join(__dirname, '..', '..', 'plugins', 'vla-sensor', 'dist', 'train.js'))
  // the plugin's own test config (compiled into its dist-test/ by npm run compile)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const {smallConfig} = require(path.join(__dirname, '..', '..', 'plugins', 'vla-sensor', 'dist-test', 'small-config.js')) as {smallConfig: (over?: Record<string, unknown>) => Record<string, unknown>}
  const variants: {name: string; over: Record<string, unknown>}[] = [
    {name: 'no sensor (baseline)', over: {sensor_enabled: false}},
    {name: 'concat', over: {sensor_enabled: true, fusion_strategy: 'concat'}},
    {name: 'cross_attention', over: {sensor_enabled: true, fusion_strategy: 'cross_attention'}},
    {name: 'gated', over: {sensor_enabled: true, fusion_strategy: 'gated'}},
    {name: 'none (sensor added)', over: {sensor_enabled: true, fusion_strategy: 'none'}},
  ]
  const rows: {name: string; dep: number; plain: number; val: number; params: number; ms: number}[] = []
  for (const v of variants) {
    const acc = {dep: 0, plain: 0, val: 0, params: 0, ms: 0}
    for (let s = 0; s < seeds; s++) {
      const ctx = trainerContext(smallConfig({...v.over, epochs, builtin: {seed: 42 + s}}), new MemoryCheckpoints())
      acc.ms += await timeMs(() => trainVla(pluginApi, ctx))
      const last = ctx.metrics.filter((m) => 'val/loss_epoch' in m.values).at(-1)!.values
      acc.dep += last['val/mae_sensor_dependent']
      acc.plain += last['val/mae_no_sensor']
      acc.val += last['val/loss_epoch']
      acc.params = ctx.metrics.find((m) => 'params/trainable_M' in m.values)!.values['params/trainable_M']
    }
    rows.push({name: v.name, dep: acc.dep / seeds, plain: acc.plain / seeds, val: acc.val / seeds, params: acc.params, ms: acc.ms / seeds})
    console.error(`${v.name}: done`)
  }
  const base = rows[0]
  console.log(`budget: ${epochs} epochs × 108 steps of batch 32 (balanced sampler), wasm backend, ${seeds} seed(s) each; means over seeds`)
  console.log('| fusion | MAE, sensor-dependent steps | ÷ baseline | MAE, sessions without sensor | val loss | trainable params | train time ÷ baseline |')
  console.log('| --- | --- | --- | --- | --- | --- | --- |')
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.dep.toFixed(4)} | ${(r.dep / base.dep).toFixed(2)} | ${r.plain.toFixed(4)} | ${r.val.toFixed(4)} | ${(r.params * 1e3).toFixed(1)} k | ${(r.ms / base.ms).toFixed(2)} |`,
    )
  }
}
