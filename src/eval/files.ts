/** The report files of `rfm eval --out DIR`: eval_results.csv, eval_results.json, logs/eval_<timestamp>.log. */
import {mkdir} from 'node:fs/promises'
import * as path from 'node:path'

import {atomicWriteFile} from '../formats/atomic'
import {EvalReport, toCsv} from './report'

export const CSV_FILE = 'eval_results.csv'
export const JSON_FILE = 'eval_results.json'

export function logFileName(now: Date): string {
  return `logs/eval_${now.toISOString().replace(/[:.]/g, '-')}.log`
}

/** The report's files by relative name (what --out holds and what the eval job commits). */
export function reportFiles(report: EvalReport, logLines: string[], now: Date): Record<string, Uint8Array> {
  return {
    [CSV_FILE]: Buffer.from(toCsv(report.results)),
    [JSON_FILE]: Buffer.from(JSON.stringify(report, null, 2) + '\n'),
    [logFileName(now)]: Buffer.from(logLines.join('\n') + '\n'),
  }
}

export async function writeReportFiles(dir: string, files: Record<string, Uint8Array>): Promise<string[]> {
  const written: string[] = []
  for (const [name, bytes] of Object.entries(files)) {
    const file = path.join(dir, name)
    await mkdir(path.dirname(file), {recursive: true})
    await atomicWriteFile(file, bytes)
    written.push(file)
  }
  return written
}
