/**
 * MODEL → the checkpoints to score: a run id of the profile's store (any built-in kind's committed
 * checkpoints) or a local folder (a checkpoint itself, or a folder of checkpoint-<step>/ folders as
 * `rfm ckpt pull` and the pipelines write them), narrowed by --checkpoints all|best|final|latest|STEP.
 */
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import * as path from 'node:path'

import {CheckpointStore} from '../checkpoint/store'
import {NotFoundError, UsageError} from '../errors'
import type {RunStore} from '../runs/run-store'

export type CheckpointSelection = 'all' | 'best' | 'final' | 'latest' | number

export function parseSelection(value: string | undefined): CheckpointSelection {
  if (value === undefined || value === 'all') return 'all'
  if (value === 'best' || value === 'final' || value === 'latest') return value
  if (/^\d+$/.test(value)) return Number(value)
  throw new UsageError(`--checkpoints ${value} is not all, best, final, latest or a step.`, {hint: 'e.g. --checkpoints all (default), --checkpoints final, --checkpoints 200.'})
}

/** One checkpoint to score; `read` throws with a message naming what is wrong (an error row, not a crash). */
export interface CheckpointSource {
  /** its name in the results: RUN@<step> or the folder */
  name: string
  step: number | null
  read(): Promise<Record<string, Uint8Array>>
}

export interface ModelCheckpoints {
  /** the run id or the folder */
  model: string
  /** the kind that trained it (a run's recorded kind), when known */
  kind?: string
  sources: CheckpointSource[]
}

const isCheckpointDir = (dir: string) => existsSync(path.join(dir, 'model_config.json')) || existsSync(path.join(dir, 'model.safetensors'))

function stepOfDir(dir: string): number | null {
  try {
    const state = JSON.parse(readFileSync(path.join(dir, 'trainer_state.json'), 'utf8')) as {global_step?: unknown}
    if (typeof state.global_step === 'number') return state.global_step
  } catch {
    // no trainer state: the folder name says
  }
  const m = /(\d+)$/.exec(path.basename(dir))
  return m ? Number(m[1]) : null
}

function folderSource(dir: string, name: string): CheckpointSource {
  return {
    name,
    step: stepOfDir(dir),
    async read() {
      const files: Record<string, Uint8Array> = {}
      for (const f of readdirSync(dir)) if (statSync(path.join(dir, f)).isFile()) files[f] = readFileSync(path.join(dir, f))
      return files
    },
  }
}

function select<T extends {step: number | null}>(all: T[], selection: CheckpointSelection, pointers: {best?: number; final?: number}, what: string): T[] {
  if (all.length === 0) return []
  if (selection === 'all') return all
  const latest = all.reduce((a, b) => ((b.step ?? -1) > (a.step ?? -1) ? b : a))
  if (selection === 'latest') return [latest]
  const step = typeof selection === 'number' ? selection : selection === 'final' ? (pointers.final ?? latest.step) : pointers.best
  if (step === undefined) throw new NotFoundError(`${what} has no best checkpoint (it has no metric_for_best_model / eval metric).`, {hint: 'Use --checkpoints all, final, latest or a step.'})
  const hit = all.filter((c) => c.step === step)
  if (hit.length === 0) throw new NotFoundError(`${what} has no checkpoint at step ${step}.`, {hint: `Steps: ${all.map((c) => c.step).join(', ')}.`})
  return hit
}

/** A local checkpoint folder, or a folder of checkpoint folders. */
export function localCheckpoints(dir: string, selection: CheckpointSelection, kind?: string): ModelCheckpoints {
  const abs = path.resolve(dir)
  if (isCheckpointDir(abs)) return {model: abs, kind, sources: select([folderSource(abs, path.basename(abs))], selection === 'all' ? 'all' : 'latest', {}, abs)}
  const subs = readdirSync(abs)
    .filter((d) => statSync(path.join(abs, d)).isDirectory() && isCheckpointDir(path.join(abs, d)))
    .map((d) => folderSource(path.join(abs, d), d))
    .sort((a, b) => (a.step ?? 0) - (b.step ?? 0) || a.name.localeCompare(b.name))
  if (subs.length === 0)
    throw new NotFoundError(`${abs} holds no checkpoint (model_config.json + model.safetensors, or checkpoint-<step>/ folders of them).`, {hint: 'Give a run id or a folder rfm ckpt pull wrote.'})
  return {model: abs, kind, sources: select(subs, selection, {}, abs)}
}

/** The committed checkpoints of a run in the store. */
export async function runCheckpoints(runs: RunStore, runId: string, selection: CheckpointSelection): Promise<ModelCheckpoints> {
  const run = await runs.get(runId)
  const store = new CheckpointStore(runs.store, run.id)
  const committed = await store.list()
  if (committed.length === 0) throw new NotFoundError(`Run ${run.id} has no committed checkpoint yet.`, {hint: `rfm cloud status ${run.id}`})
  const [best, final] = await Promise.all([store.pointer('best'), store.pointer('final')])
  const all = committed.map((c) => ({
    name: `${run.id}@${c.step}`,
    step: c.step,
    async read() {
      const files = await store.read(c)
      if (!files) throw new Error(`checkpoint step ${c.step} is damaged: its files do not match its manifest`)
      return Object.fromEntries(files) as Record<string, Uint8Array>
    },
  }))
  return {model: run.id, kind: run.kind, sources: select(all, selection, {best: best?.step, final: final?.step}, `Run ${run.id}`)}
}

/** MODEL as a local folder when one exists, else as a run id of the store. */
export async function resolveModel(model: string, selection: CheckpointSelection, runs: () => Promise<RunStore>, kind?: string): Promise<ModelCheckpoints> {
  if (existsSync(model) && statSync(model).isDirectory()) return localCheckpoints(model, selection, kind)
  const found = await runCheckpoints(await runs(), model, selection)
  return kind ? {...found, kind} : found
}
