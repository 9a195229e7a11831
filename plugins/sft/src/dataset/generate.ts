/**
 * `generateVqaDataset`: trajectories → VQA samples → a Hugging Face `save_to_disk` dataset, one
 * Arrow shard per save_batch_size rows. Rows are produced in index order by this thread or by
 * worker threads that each render whole batches, so the output is the same for any worker count.
 * The dataset is written to a hidden sibling folder and renamed into place at the end: an
 * interrupted run leaves nothing at the output path.
 */
import {existsSync, readdirSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {Worker} from 'node:worker_threads'

import {type DataConfig, resolveDataConfig, type SampleType} from './config'
import {DatasetError, usageError} from './errors'
import type {Formats} from './formats'
import type {HfFeatures} from '@rfm/plugin-api'
import {planContext, renderRange, type VqaRow} from './samples'
import {buildCatalogue, type SourceSummary, TrajectoryLoader} from './sources'
import type {WorkerInput} from './worker'

/**
 * The dataset's columns, as Python's `datasets` declares them. Frame lists are declared `Sequence`
 * (read as a list by datasets < 4 and as `List` by datasets ≥ 4; `List` alone is unknown before 4).
 */
export const VQA_FEATURES: HfFeatures = {
  sample_type: {_type: 'Value', dtype: 'string'},
  task: {_type: 'Value', dtype: 'string'},
  question: {_type: 'Value', dtype: 'string'},
  answer: {_type: 'Value', dtype: 'string'},
  frames_a: {_type: 'Sequence', feature: {_type: 'Image'}},
  frames_b: {_type: 'Sequence', feature: {_type: 'Image'}},
  progress_a: {_type: 'Value', dtype: 'float32'},
  progress_b: {_type: 'Value', dtype: 'float32'},
  preferred: {_type: 'Value', dtype: 'string'},
  source: {_type: 'Value', dtype: 'string'},
  index: {_type: 'Value', dtype: 'int64'},
}

export interface GenerateOptions {
  output: string
  numEpochs: number
  evalMode?: boolean
  seed?: number
  saveBatchSize?: number
  /** 0 or 1: render in this thread; more: that many worker threads */
  numWorkers?: number
  /** rows per unit of work handed to a worker */
  batchSize?: number
  /** `data.*` keys (without the prefix), validated over the defaults */
  data?: Record<string, unknown>
  /** replace an existing dataset at output */
  overwrite?: boolean
  /** relative sources resolve against this folder (default: the working directory) */
  baseDir?: string
  /** file of the formats module, for worker threads (default: found among loaded modules) */
  formatsModule?: string
}

export interface GenerateProgress {
  done: number
  total: number
}

export interface GenerateResult {
  output: string
  num_samples: number
  shards: number
  dataset_size: number
  num_epochs: number
  seed: number
  eval_mode: boolean
  num_workers: number
  save_batch_size: number
  counts: Record<SampleType, number>
  sources: SourceSummary[]
  data: DataConfig
  columns: string[]
}

function checkInteger(flag: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw usageError(`${flag} must be an integer ≥ ${min} (got ${value}).`)
}

/** The file a loaded module object came from (worker threads load it again by path). */
function moduleFile(exports: object): string | undefined {
  const cache = require.cache as Record<string, {exports?: unknown; filename: string} | undefined>
  return Object.values(cache).find((m) => m?.exports === exports)?.filename
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes temp folders of earlier runs on the same output whose process is gone (e.g. SIGKILL). */
function removeStaleTemps(parent: string, base: string): void {
  if (!existsSync(parent)) return
  const prefix = `.${base}.tmp-`
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(prefix)) continue
    const pid = Number(name.slice(prefix.length).split('-')[0])
    if (Number.isInteger(pid) && pid !== process.pid && !pidAlive(pid)) rmSync(path.join(parent, name), {recursive: true, force: true})
  }
}

export async function generateVqaDataset(options: GenerateOptions, formats: Formats, onProgress?: (progress: GenerateProgress) => void): Promise<GenerateResult> {
  const seed = options.seed ?? 42
  const saveBatchSize = options.saveBatchSize ?? 50_000
  const numWorkers = options.numWorkers ?? 4
  const batchSize = options.batchSize ?? 100
  const evalMode = options.evalMode ?? false
  if (!Number.isFinite(options.numEpochs) || options.numEpochs <= 0)
    throw usageError(`--num-epochs must be a number > 0 (got ${options.numEpochs}).`, 'Fractions are fine: --num-epochs 0.1 gives a tenth of the dataset size.')
  checkInteger('--seed', seed, 0)
  checkInteger('--save-batch-size', saveBatchSize, 1)
  checkInteger('--num-workers', numWorkers, 0)
  checkInteger('--batch-size', batchSize, 1)
  if (numWorkers > 64) throw usageError(`--num-workers must be at most 64 (got ${numWorkers}).`)
  if (!options.output) throw usageError('--output is required.')

  const config = resolveDataConfig(options.data ?? {})
  const output = path.resolve(options.output)
  if (existsSync(output)) {
    if (!statSync(output).isDirectory()) throw usageError(`--output ${output} is a file.`, 'Choose a folder path for the dataset.')
    const entries = readdirSync(output)
    if (entries.length > 0 && !options.overwrite) throw usageError(`--output ${output} already exists and is not empty.`, 'Pass --overwrite to replace it, or choose another --output.')
    // --overwrite replaces a dataset, never an unrelated folder
    if (entries.length > 0 && !entries.includes('state.json'))
      throw usageError(`--output ${output} is not a saved dataset (no state.json); --overwrite only replaces datasets.`, 'Choose another --output.')
  }
  const {catalogue, sources} = await buildCatalogue(formats, config, options.baseDir ?? process.cwd())
  const total = Math.round(options.numEpochs * catalogue.length)
  if (total < 1) throw usageError(`--num-epochs ${options.numEpochs} × ${catalogue.length} trajectories gives no samples.`, 'Raise --num-epochs or add trajectories.')
  const ctx = planContext(catalogue, config, seed, evalMode)

  const parent = path.dirname(output)
  const base = path.basename(output)
  removeStaleTemps(parent, base)
  const temp = path.join(parent, `.${base}.tmp-${process.pid}-${Date.now().toString(36)}`)

  const counts = {preference: 0, progress: 0, similarity: 0} as Record<SampleType, number>
  let done = 0
  const batches = Math.ceil(total / batchSize)
  const range = (b: number): [number, number] => [b * batchSize, Math.min(total, (b + 1) * batchSize)]
  let renderBatch: (b: number) => Promise<VqaRow[]>
  let pool: WorkerPool | undefined
  // worker threads load the formats module by file; without one (a hand-made formats object) this thread renders
  const formatsModule = options.formatsModule ?? moduleFile(formats)
  if (numWorkers > 1 && batches > 1 && formatsModule) {
    pool = new WorkerPool(Math.min(numWorkers, batches), {formatsModule, catalogue, config, seed, evalMode})
    renderBatch = (b) => pool!.run(...range(b))
  } else {
    const loader = new TrajectoryLoader(formats, config)
    renderBatch = (b) => renderRange(ctx, loader, formats, ...range(b))
  }

  async function* rows(): AsyncGenerator<Record<string, unknown>> {
    // keep a bounded number of batches in flight, and hand rows on strictly in index order
    const ahead = pool ? pool.size * 2 : 1
    const inFlight = new Map<number, Promise<VqaRow[]>>()
    let next = 0
    for (let b = 0; b < batches; b++) {
      while (next < batches && inFlight.size < ahead) {
        const promise = renderBatch(next)
        promise.catch(() => undefined)
        inFlight.set(next++, promise)
      }
      const batch = await inFlight.get(b)!
      inFlight.delete(b)
      for (const row of batch) {
        counts[row.sample_type as SampleType]++
        yield row as unknown as Record<string, unknown>
      }
      done += batch.length
      onProgress?.({done, total})
    }
  }

  let shards: number
  try {
    const written = await formats.writeHfDataset(temp, rows(), VQA_FEATURES, {shardRows: saveBatchSize})
    shards = written.shards
    writeFileSync(path.join(temp, 'rfm_generation.json'), JSON.stringify({num_epochs: options.numEpochs, seed, eval_mode: evalMode, data: config, sources, counts, num_samples: total}, null, 2) + '\n')
    if (existsSync(output)) {
      const old = path.join(parent, `.${base}.tmp-${process.pid}-old`)
      renameSync(output, old)
      renameSync(temp, output)
      rmSync(old, {recursive: true, force: true})
    } else {
      renameSync(temp, output)
    }
  } catch (error) {
    rmSync(temp, {recursive: true, force: true})
    throw error
  } finally {
    await pool?.close()
  }
  return {
    output,
    num_samples: total,
    shards,
    dataset_size: catalogue.length,
    num_epochs: options.numEpochs,
    seed,
    eval_mode: evalMode,
    num_workers: pool ? pool.size : 0,
    save_batch_size: saveBatchSize,
    counts,
    sources,
    data: config,
    columns: Object.keys(VQA_FEATURES),
  }
}

/** Worker threads that render index ranges; each takes the next job when it finishes one. */
class WorkerPool {
  private readonly workers: Worker[] = []
  private readonly idle: Worker[] = []
  private readonly queue: {id: number; start: number; end: number}[] = []
  private readonly waiting = new Map<number, {resolve(rows: VqaRow[]): void; reject(error: Error): void; worker?: Worker}>()
  private nextId = 0

  constructor(
    readonly size: number,
    input: WorkerInput,
  ) {
    for (let k = 0; k < size; k++) {
      const worker = new Worker(path.join(__dirname, 'worker.js'), {workerData: input})
      worker.on('message', (message: {id: number; rows?: VqaRow[]; error?: {message: string; hint?: string; exitCode?: number; code?: string}}) => {
        const waiter = this.waiting.get(message.id)
        this.waiting.delete(message.id)
        if (message.error) {
          const {message: text, ...rest} = message.error
          waiter?.reject(rest.exitCode === undefined ? new Error(text) : new DatasetError(text, rest))
        } else {
          waiter?.resolve(message.rows!)
        }
        this.idle.push(worker)
        this.pump()
      })
      worker.on('error', (error) => {
        for (const [id, waiter] of this.waiting) {
          if (waiter.worker === worker) {
            this.waiting.delete(id)
            waiter.reject(error)
          }
        }
      })
      this.workers.push(worker)
      this.idle.push(worker)
    }
  }

  run(start: number, end: number): Promise<VqaRow[]> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.waiting.set(id, {resolve, reject})
      this.queue.push({id, start, end})
      this.pump()
    })
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.shift()!
      const job = this.queue.shift()!
      this.waiting.get(job.id)!.worker = worker
      worker.postMessage(job)
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}
