/** Human rendering of a plan: a ranked table, the chosen plan's details, warnings. */
import {formatDuration} from '../config/duration'
import {table} from '../cli/render'
import type {Plan, PlanResult} from './plan'

const money = (x: number) => `$${x < 10 ? x.toFixed(2) : x.toFixed(0)}`
const hours = (h: number) => formatDuration(h * 3600)

function row(p: Plan): string[] {
  return [
    p.rank === null ? '-' : String(p.rank),
    p.instanceType,
    p.region,
    p.market,
    `${p.gpus}×${p.gpuModel} ${p.gpuMemoryGiB}G`,
    `${p.fits ? 'yes' : 'no'} ${p.memoryNeededGiB}G`,
    `${p.batch.perDevice}×${p.batch.gradientAccumulation}×${p.gpus}=${p.batch.effective}`,
    `$${p.pricePerHour.toFixed(3)}`,
    p.fits ? hours(p.expectedHours) : '-',
    p.fits ? money(p.expectedCost) : '-',
    p.market === 'spot' ? `${p.interruption.bucket} (${p.interruption.expected})` : 'none',
    p.why,
  ]
}

export function renderPlan(result: PlanResult, top: number): string {
  const w = result.workload
  const m = result.memory
  const lines = [
    `Workload  ${w.name ?? w.model.name ?? 'workload'}: ${w.kind} of ${w.model.name ?? `${w.model.params_b}B`} (${w.model.params_b}B), ${w.method}${w.method === 'lora' || w.method === 'qlora4' ? ` r=${w.lora_rank}` : ''}, ${w.samples} samples × ${w.epochs} epoch(s)`,
    `Memory    ${m.totalGiB.toFixed(1)} GiB per GPU at batch ${w.per_device_train_batch_size}: weights ${m.weightsGiB.toFixed(1)}, optimizer ${m.optimizerGiB.toFixed(1)}, reference ${m.referenceModelGiB.toFixed(1)}, activations ${m.activationsGiB.toFixed(1)}, overhead ${m.overheadGiB.toFixed(1)}`,
    `Prices    ${result.catalog.source} catalog, ${result.catalog.retrievedAt.slice(0, 10)} (${result.catalog.ageDays} days old)`,
    '',
  ]
  const shown = result.plans.slice(0, top)
  lines.push(table(['#', 'INSTANCE', 'REGION', 'MARKET', 'GPUS', 'FITS', 'BATCH', '$/H', 'HOURS', 'COST', 'INTERRUPTIONS', 'WHY'], shown.map(row)))
  if (result.plans.length > shown.length) lines.push(`… ${result.plans.length - shown.length} more (--top N, or --json for all)`)
  const c = result.chosen
  if (c) {
    lines.push('', `Chosen    ${c.instanceType} ${c.market} in ${c.region}: ${money(c.expectedCost)} expected over ${hours(c.expectedHours)} — ${c.why}`)
    const s = c.saveSteps
    lines.push(
      `save_steps ${s.recommended} (a checkpoint every ${s.intervalMinutes} min of compute${s.youngDalyMinutes === null ? '' : `; Young/Daly √(2C/λ) = ${s.youngDalyMinutes} min`})` +
        (s.current !== undefined ? `; your save_steps ${s.current} would cost ${money(s.currentCost ?? 0)}` : ''),
    )
    lines.push(
      `Checkpoint ${c.checkpoint.gib} GiB, ~${c.checkpoint.seconds}s to write: ${c.checkpoint.graceful ? 'fits in the 2-minute spot notice' : 'too slow for the 2-minute spot notice, so interruptions lose work since the last checkpoint'}`,
    )
    for (const warning of c.warnings) lines.push(`Note      ${warning}`)
  }
  for (const warning of result.warnings) lines.push(`Warning   ${warning}`)
  return lines.join('\n')
}
