import type {RunRecord} from '../runs/record'
import type {RunStore} from '../runs/run-store'

/** What a backend knows about a run beyond its record (a dead supervisor, a cloud job state). */
export interface LiveView {
  /** set when the backend sees the run differently from its record */
  state?: 'lost'
  reason?: string
  /** cloud backends: the job's own status (e.g. Batch's SUBMITTED…RUNNING) */
  status?: string
  /** things the user should look at (a job stuck RUNNABLE, …) */
  warnings?: string[]
}

/** A job a cloud backend's queues hold (rfm cloud ls). */
export interface QueueJob {
  queue: string
  jobId: string
  jobName: string
  status: string
  runId?: string
  createdAt?: string
}

/** One attempt's log lines, for backends whose logs live outside the store (CloudWatch). */
export interface LogChunk {
  attempt: number
  text: string
}

export interface Backend {
  readonly name: 'local' | 'aws-batch'
  /** Refuses, before anything is recorded, a run this backend cannot run (optional). */
  check?(run: RunRecord): Promise<void>
  /** Starts the run recorded (state queued) in the store; returns once it is handed off. */
  submit(run: RunRecord, runs: RunStore): Promise<void>
  /** Stops a run (gracefully, then forcibly after the grace period) and returns its final record. */
  cancel(run: RunRecord, runs: RunStore, options: {graceSeconds: number}): Promise<RunRecord>
  observe(run: RunRecord): Promise<LiveView>
  /**
   * Brings run.json up to date with what the backend sees and returns it (optional: backends whose
   * supervisor keeps the record current, like local, need not).
   */
  refresh?(run: RunRecord, runs: RunStore): Promise<RunRecord>
  /**
   * Streams the run's logs across attempts (optional: without it, logs are read from the store).
   * Follows until the run ends when `follow` is set; returns the last record seen.
   */
  streamLogs?(run: RunRecord, runs: RunStore, options: {follow: boolean; attempt?: number; onChunk(chunk: LogChunk): void}): Promise<RunRecord>
  /**
   * `--dry-run`: the requests submit would send, as they would be sent (optional; aws-batch:
   * submitJob, and registerJobDefinition when a job definition revision would be registered).
   */
  planRequests?(run: RunRecord): Promise<Record<string, unknown>>
  /** Jobs in the backend's queues (optional). */
  queueJobs?(): Promise<QueueJob[]>
}
