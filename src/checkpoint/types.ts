/**
 * The checkpoint API that built-in trainers use. The runtime implements it over the object store
 * with the protocol of DESIGN.md (files first, manifest.json with sha256 of each written last; a
 * checkpoint without a valid manifest does not exist); trainers only see this interface.
 */
export type CheckpointFiles = Record<string, Uint8Array>

export interface SavedCheckpoint {
  step: number
  files: CheckpointFiles
  /** the trainer's JSON state: step, epoch, position in the epoch's order, RNG, scheduler, ... */
  state: Record<string, unknown>
}

export interface CheckpointIO {
  /**
   * Commits a checkpoint at `step`. `metrics` (e.g. {eval_loss: 0.3}) lets retention keep the best
   * one; `final` marks the last checkpoint of a finished run, never deleted.
   */
  save(step: number, files: CheckpointFiles, state: Record<string, unknown>, options?: {metrics?: Record<string, number>; final?: boolean}): Promise<void>
  /** The newest committed checkpoint whose files verify against its manifest, or undefined. */
  loadLatest(): Promise<SavedCheckpoint | undefined>
}
