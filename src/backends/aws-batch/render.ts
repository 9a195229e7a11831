import type {RunRecord} from '../../runs/record'
import type {LiveView} from '../types'
import type {BatchAttempt} from './sync'

/** The Batch lines of `rfm cloud status`: the job, its status, and where each attempt ran and why it ended. */
export function describeBatch(run: RunRecord, live: LiveView): string {
  const b = run.backend as Record<string, unknown>
  const lines = [`Batch     job ${String(b.jobId ?? '(not submitted)')} ${live.status ?? String(b.status ?? '')}`.trimEnd(), `          queue ${String(b.jobQueue ?? '-')}`]
  if (b.arrayStatus)
    lines.push(
      `          array ${Object.entries(b.arrayStatus as Record<string, number>)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    )
  for (const a of run.attempts as BatchAttempt[]) {
    const where = [a.instanceType, a.availabilityZone, a.lifecycle].filter(Boolean).join(' ') || 'host unknown'
    const child = a.arrayIndex === undefined ? '' : `[${a.arrayIndex}] `
    lines.push(`  ${child}attempt ${a.index}: ${where}${a.statusReason ? ` — ${a.statusReason}` : ''}`)
  }
  return lines.join('\n')
}
