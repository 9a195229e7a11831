import type {RunRecord} from '../runs/record'
import type {RunStore} from '../runs/run-store'

/** What a backend knows about a run beyond its record (a dead supervisor, a cloud job state). */
export interface LiveView {
  /** set when the backend sees the run differently from its record */
  state?: 'lost'
  reason?: string
}

export interface Backend {
  readonly name: 'local' | 'aws-batch'
  /** Starts the run recorded (state queued) in the store; returns once it is handed off. */
  submit(run: RunRecord, runs: RunStore): Promise<void>
  /** Stops a run (gracefully, then forcibly after the grace period) and returns its final record. */
  cancel(run: RunRecord, runs: RunStore, options: {graceSeconds: number}): Promise<RunRecord>
  observe(run: RunRecord): Promise<LiveView>
}
