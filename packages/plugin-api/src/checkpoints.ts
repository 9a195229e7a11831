/** Checkpoint shapes of the contract (the host's src/checkpoint/{types,store,sync}.ts satisfy them; src/plugin-api/conformance.ts checks). */

export type CheckpointFiles = Record<string, Uint8Array>

export interface SavedCheckpoint {
  step: number
  files: CheckpointFiles
  /** the trainer's JSON state: step, epoch, position in the epoch's order, RNG, scheduler, ... */
  state: Record<string, unknown>
}

/**
 * The checkpoint API that built-in trainers use. The runtime implements it over the object store
 * (files first, then a manifest with the sha256 of each: a checkpoint without a valid manifest does
 * not exist); `api.checkpoints.local(dir)` over `checkpoint-<step>/` folders.
 */
export interface CheckpointIO {
  /**
   * Commits a checkpoint at `step`. `metrics` (e.g. {eval_loss: 0.3}) lets retention keep the best
   * one; `final` marks the last checkpoint of a finished run, never deleted.
   */
  save(step: number, files: CheckpointFiles, state: Record<string, unknown>, options?: {metrics?: Record<string, number>; final?: boolean}): Promise<void>
  /** The newest committed checkpoint whose files verify against its manifest, or undefined. */
  loadLatest(): Promise<SavedCheckpoint | undefined>
}

export interface RetentionPolicy {
  /** keep this many newest checkpoints (besides best and final); undefined keeps all */
  saveTotalLimit?: number
  /** metric that picks `best`, e.g. eval_loss */
  bestMetric?: string
  greaterIsBetter?: boolean
}

/** Where an external trainer writes checkpoints, and how rfm mirrors and restores them. */
export interface ExternalCheckpointSpec {
  /** absolute folder the trainer writes to */
  dir: string
  /** `hf`: one folder per save, `checkpoint-<step>/`; `file`: one file, overwritten at each save */
  layout: 'hf' | 'file'
  /** with layout `file`: the file's name inside dir */
  file?: string
  /** with layout `hf`: a folder is complete once this file exists in it (written last by the trainer) */
  completeMarker: string
  /** arguments added to the trainer's command line when a checkpoint was restored; `{checkpoint}` becomes its local path */
  resumeArgs: string[]
  retention: RetentionPolicy
}

/** One committed checkpoint as `rfm ckpt ls` lists it. */
export interface CheckpointRow {
  step: number
  createdAt: string
  attempt?: number
  files: number
  bytes: number
  metrics?: Record<string, number>
  tags: string[]
}

/** `checkpoint-<step>/` folders in a local directory (api.checkpoints.local). */
export interface LocalCheckpoints extends CheckpointIO {
  readonly dir: string
  /** the complete checkpoints' steps, oldest first */
  steps(): number[]
}
