/**
 * Evaluation results a run left in the store, as tables: JSON files named like `*result*.json`
 * directly under runs/<id>/ (or under runs/<id>/eval/), and those in the run's newest committed
 * checkpoint (an `rm-eval` eval job keeps its evaluation_results.json there). A file is shown when
 * it holds an array of flat objects, as `results` or `rows` or at its top level; anything else is
 * skipped, so a format added later cannot break the page.
 */
import {checkpointRows} from '../checkpoint/rows'
import {RunStore} from '../runs/run-store'
import type {ObjectStore} from '../store/types'

export interface ResultsTable {
  /** the object's key under the store */
  source: string
  columns: string[]
  rows: Array<Record<string, string | number | boolean | null>>
}

const RESULT_FILE = /(^|[/_-])(eval[^/]*|[^/]*results?)\.json$/i
const MAX_BYTES = 4 * 1024 * 1024
const MAX_ROWS = 500

export async function findResults(store: ObjectStore, runId: string): Promise<ResultsTable[]> {
  const keys: string[] = []
  for (const prefix of [RunStore.runKey(runId, ''), RunStore.runKey(runId, 'eval/')]) {
    const {objects} = await store.list(prefix, {delimited: true})
    keys.push(...objects.filter((o) => RESULT_FILE.test(o.key) && o.size <= MAX_BYTES).map((o) => o.key))
  }
  const newest = (await checkpointRows(store, runId)).at(-1)
  if (newest) {
    const prefix = RunStore.runKey(runId, `checkpoints/step-${newest.step}/`)
    const {objects} = await store.list(prefix)
    keys.push(...objects.filter((o) => RESULT_FILE.test(o.key) && o.size <= MAX_BYTES).map((o) => o.key))
  }
  const tables: ResultsTable[] = []
  for (const key of keys) {
    const table = parseTable(key, await store.get(key))
    if (table) tables.push(table)
  }
  return tables
}

function parseTable(source: string, bytes: Buffer | undefined): ResultsTable | undefined {
  if (!bytes) return undefined
  let data: unknown
  try {
    data = JSON.parse(bytes.toString('utf8'))
  } catch {
    return undefined
  }
  const list = Array.isArray(data) ? data : isObject(data) ? (data.results ?? data.rows) : undefined
  if (!Array.isArray(list) || list.length === 0 || !list.every(isObject)) return undefined
  const columns: string[] = []
  const rows = list.slice(0, MAX_ROWS).map((item) => {
    const row: ResultsTable['rows'][number] = {}
    for (const [key, value] of Object.entries(item)) {
      if (!columns.includes(key)) columns.push(key)
      row[key] = value === null || ['string', 'number', 'boolean'].includes(typeof value) ? (value as string | number | boolean | null) : JSON.stringify(value)
    }
    return row
  })
  return {source, columns, rows}
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
