/**
 * `rfm rm-eval eval --merge RUN`: the results of an eval job (mode: eval) in one CSV/JSON/log. A job
 * on the local backend wrote them whole; an AWS Batch array job wrote one part per child (under
 * runs/<run>/array-<i>/checkpoints). Each part lists every item, so the merged table keeps the
 * job's order and names each checkpoint no child scored (a child that failed, or an array too small).
 */
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'

import {bestRow, errorRow, EvalReport, EvalRow, reportFiles, reportJson, toCsv} from './evaluate'

export interface EvalPart {
  /** array child, or undefined for a job without an array */
  index?: number
  /** the part's JSON report, or why there is none */
  report?: {results: EvalRow[]; items: {model_dir: string; checkpoint: string}[]; array: {index: number; size: number | null} | null; dataset: Record<string, unknown>}
  log?: string
  /** base name of the CSV the job was configured with */
  csvName?: string
  missing?: string
}

export interface MergeReport extends EvalReport {
  run: string
  parts: {index: number | null; rows: number; status: string}[]
}

const key = (r: {model_dir: string; checkpoint: string}) => `${r.model_dir}\u0000${r.checkpoint}`

/** Merges the parts in item order; writes the CSV, JSON and log into outDir. */
export function mergeParts(runId: string, parts: EvalPart[], outDir: string, now = new Date()): MergeReport {
  const found = parts.filter((p) => p.report)
  const items = found[0]?.report?.items ?? []
  const size = parts.length
  const rows = new Map<string, EvalRow>()
  for (const p of found) for (const r of p.report!.results) rows.set(key(r), r)
  const results: EvalRow[] = items.map((item, i) => {
    const row = rows.get(key(item))
    if (row) return row
    const part = parts.find((p) => (p.index ?? 0) === i % size)
    return errorRow(item.model_dir, item.checkpoint, null, `not evaluated: ${part?.missing ?? `array child ${i % size} stopped before it`}`)
  })
  const csvName = found[0]?.csvName ?? 'evaluation_results.csv'
  const files = reportFiles(path.join(outDir, csvName), now)
  mkdirSync(path.dirname(files.log), {recursive: true})
  writeFileSync(files.csv, toCsv(results))
  writeFileSync(files.json, reportJson(results, found[0]?.report?.dataset ?? {}, now, {run: runId, parts: parts.length}))
  const logs = parts.map((p) => `== ${p.index === undefined ? 'job' : `array child ${p.index}`}: ${p.missing ?? `${p.report!.results.length} row(s)`}\n${p.log ?? ''}`)
  writeFileSync(files.log, logs.join('\n'))
  return {
    run: runId,
    output_file: files.csv,
    json_file: files.json,
    log_file: files.log,
    results,
    best: bestRow(results),
    parts: parts.map((p) => ({index: p.index ?? null, rows: p.report?.results.length ?? 0, status: p.missing ? `missing: ${p.missing}` : 'ok'})),
  }
}

/** Reads a pulled part folder (the final checkpoint of the job or of one child). */
export function readPart(dir: string, index: number | undefined, files: string[]): EvalPart {
  const json = files.find((f) => f.endsWith('.json') && f !== 'trainer_state.json' && !f.includes('/'))
  const log = files.find((f) => f.startsWith('logs/'))
  if (!json) return {index, missing: 'its checkpoint holds no results'}
  return {
    index,
    report: JSON.parse(readFileSync(path.join(dir, json), 'utf8')) as EvalPart['report'],
    log: log ? readFileSync(path.join(dir, log), 'utf8') : undefined,
    csvName: files.find((f) => f.toLowerCase().endsWith('.csv')) ?? json.replace(/\.json$/, '.csv'),
  }
}
