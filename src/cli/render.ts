import {formatDuration} from '../config/duration'
import type {LiveView} from '../backends/types'
import type {RunRecord} from '../runs/record'

const STATE_COLOR: Record<string, number> = {succeeded: 32, failed: 31, cancelled: 33, running: 36, queued: 36, lost: 35}

export function paint(text: string, code: number | undefined, color: boolean): string {
  return color && code ? `\u001B[${code}m${text}\u001B[39m` : text
}

export function shownState(run: RunRecord, live?: LiveView): string {
  return live?.state ?? run.state
}

export function runDuration(run: RunRecord): string {
  const start = Date.parse(run.attempts[0]?.startedAt ?? run.createdAt)
  const end = run.endedAt ? Date.parse(run.endedAt) : Date.now()
  return formatDuration(Math.max(0, (end - start) / 1000))
}

/** A plain text table: columns padded to their widest cell. */
export function table(headers: string[], rows: string[][]): string {
  // eslint-disable-next-line no-control-regex -- ANSI colour codes
  const strip = (s: string) => s.replace(/\u001B\[\d+m/g, '')
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => strip(r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c + ' '.repeat(widths[i] - strip(c).length))
      .join('  ')
      .trimEnd()
  return [line(headers), ...rows.map(line)].join('\n')
}

export function describeRun(run: RunRecord, live: LiveView, color: boolean): string {
  const state = shownState(run, live)
  const lines = [
    `Run       ${run.id}${run.name ? ` (${run.name})` : ''}`,
    `Kind      ${run.kind}`,
    `State     ${paint(state, STATE_COLOR[state], color)}${live.reason ? ` — ${live.reason}` : run.reason && run.state !== 'running' ? ` — ${run.reason}` : ''}`,
    `Backend   ${run.backend.name} (profile ${run.profile})`,
    `Created   ${run.createdAt}`,
    `Duration  ${runDuration(run)}`,
  ]
  if (run.attempts.length > 0) {
    lines.push(
      '',
      table(
        ['ATTEMPT', 'STARTED', 'ENDED', 'RESUMED', 'CHECKPOINTS', 'RESULT', 'NEXT'],
        run.attempts.map((a) => [
          String(a.index),
          a.startedAt.replace('T', ' ').slice(0, 19),
          a.endedAt ? a.endedAt.replace('T', ' ').slice(11, 19) : '-',
          a.resumedFromStep === undefined ? '-' : `step ${a.resumedFromStep}`,
          (a.checkpointsCommitted ? `${a.checkpointsCommitted} (last ${a.lastCheckpointStep})` : '-') + (a.checkpointFailures ? `, ${a.checkpointFailures} FAILED` : ''),
          a.endedAt ? `${a.signal ? a.signal : `exit ${a.exitCode}`}${a.chaos ? ' (chaos)' : a.interruptedBy ? ` (${a.interruptedBy})` : ''}` : 'running',
          a.action ?? '',
        ]),
      ),
    )
  }
  const failing = run.attempts.filter((a) => a.checkpointFailures)
  for (const a of failing) lines.push(`Attempt ${a.index}: ${a.checkpointFailures} checkpoint commit(s) failed; last: ${a.lastCheckpointError}`)
  return lines.join('\n')
}

export {STATE_COLOR}
