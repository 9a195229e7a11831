/**
 * The results as a terminal table, CSV and JSON (the shape README "Evaluation" documents, read by
 * the dashboard): `eval_results.csv`, `eval_results.json` and `logs/eval_<timestamp>.log` in --out.
 */
import type {GraderStats} from '../grader/llm-grader'
import type {ResultRow} from './types'

export const CSV_COLUMNS = ['checkpoint', 'step', 'benchmark', 'task', 'accuracy', 'samples', 'correct', 'unreadable', 'graded', 'grader_fallbacks', 'status', 'error'] as const

function csvField(value: unknown): string {
  const s = value === null || value === undefined ? '' : String(value)
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function toCsv(rows: ResultRow[]): string {
  return [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => csvField(r[c])).join(','))].join('\n') + '\n'
}

export interface EvalReport {
  /** the run id or folder evaluated */
  model: string
  kind: string | null
  created: string
  benchmarks: {name: string; format: string; source: string; samples: number; unreadable: number}[]
  /** checkpoints in order; `done` lists those whose rows are in results */
  checkpoints: {name: string; step: number | null}[]
  done: string[]
  grader: (GraderStats & {model: string; base_url: string}) | null
  results: ResultRow[]
  /** the array slot of a job child; null otherwise */
  array?: {index: number; size: number | null} | null
}

export const fmt = (x: number | null) => (x === null ? '-' : x.toFixed(4))

/** One line per checkpoint × benchmark × task, aligned. */
export function renderTable(rows: ResultRow[]): string {
  const head = ['checkpoint', 'benchmark', 'task', 'accuracy', 'samples', 'unreadable']
  const body = rows.map((r) => [r.checkpoint, r.benchmark, r.task, r.status === 'error' ? `ERROR ${r.error ?? ''}` : fmt(r.accuracy), String(r.samples), r.task === 'all' ? String(r.unreadable) : ''])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (i === 3 && b[3].startsWith('ERROR') ? 8 : b[i].length))))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 3 && !c.startsWith('ERROR') ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [line(head), ...body.map(line)].join('\n')
}
