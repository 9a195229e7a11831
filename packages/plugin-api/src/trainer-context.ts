/** What the runtime gives a built-in trainer (the host's src/trainer/context.ts declares the same; src/plugin-api/conformance.ts checks). */
import type {CheckpointIO, SavedCheckpoint} from './checkpoints'

/** What a built-in trainer reports when it returns; recorded in the run's events and run.json. */
export interface TrainOutcome {
  /** the tfjs backend that ran (tensorflow, wasm, cpu) */
  backend?: string
  step?: number
  finished?: boolean
}

/** What the runtime gives a built-in trainer that runs inside it. */
export interface TrainerContext {
  runId: string
  attempt: number
  /** the kind's validated config */
  config: Record<string, unknown>
  checkpoints: CheckpointIO
  /**
   * True once the runtime has been asked to stop (SIGTERM, spot interruption notice): the trainer
   * saves a checkpoint at the next step boundary and returns.
   */
  stopRequested(): boolean
  /** One metrics record per logged step (metrics.jsonl, TensorBoard). */
  logMetrics(step: number, values: Record<string, number>): void
  log(message: string): void
  /** a scratch folder on local disk for this attempt */
  workDir: string
  /**
   * Another run's committed checkpoint from the same store, verified: `RUN`, `RUN@<step>`,
   * `RUN@best`, `RUN@final`, `RUN@latest` (`RUN` alone: final if the run finished, else latest).
   * The runtime always provides it; in-process tests may not.
   */
  loadRunCheckpoint?(ref: string): Promise<SavedCheckpoint & {runId: string}>
  /** The committed steps of another run of the same store, oldest first (a NotFoundError for an unknown run). */
  listRunCheckpoints?(runId: string): Promise<number[]>
}
