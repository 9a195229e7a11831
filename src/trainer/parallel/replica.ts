/**
 * How a worker thread rebuilds a run's model and task. A task is a JS object with closures (data,
 * tokenizer, a frozen reference model...), which cannot cross a thread boundary; so a run that
 * wants data parallelism names a module export that builds the same model and task from plain,
 * structured-cloneable arguments. The worker's weights are then overwritten with the run's.
 */
import type {SelectedBackend} from '../backend'
import type {TrainableModel, TrainingTask} from '../task'

export interface ReplicaSpec {
  /** absolute path of a CommonJS module (compiled .js) */
  module: string
  /** the name of its export: a ReplicaFactory */
  export: string
  /** structured-cloneable arguments for the factory */
  args: unknown
}

export interface Replica<M extends TrainableModel = TrainableModel> {
  model: M
  task: TrainingTask<M>
}

/** What a worker hands the factory: its own backend, the trainer core, and the formats core (datasets, images). */
export interface ReplicaEnv {
  backend: SelectedBackend
  trainer: typeof import('../index')
  loadFormats(): Promise<typeof import('../../formats/index')>
}

export type ReplicaFactory = (args: any, env: ReplicaEnv) => Replica<any> | Promise<Replica<any>>

/** `auto` → the cores this process may use. */
export function resolveWorkers(workers: 'auto' | number): number {
  if (workers !== 'auto') return workers
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const os = require('node:os') as typeof import('node:os')
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length
}

/**
 * Splits a micro-batch into at most n contiguous shards, sizes differing by at most one (the first
 * ones larger): a pure function of (indices, n), so a run with a given n is deterministic.
 */
export function shards(indices: number[], n: number): number[][] {
  const k = Math.max(1, Math.min(n, indices.length))
  const out: number[][] = []
  let at = 0
  for (let i = 0; i < k; i++) {
    const size = Math.floor(indices.length / k) + (i < indices.length % k ? 1 : 0)
    out.push(indices.slice(at, at + size))
    at += size
  }
  return out
}
