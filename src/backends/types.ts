import type {Profile} from '../config/profiles'
import type {BackendRecord, ChaosPlan, RunRecord} from '../runs/record'
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

/** What a launch needs of any backend, found by the core from the kind's hooks (asked once). */
export interface JobNeeds {
  /** the kind's estimate with the config's `resources` over it; undefined: the kind cannot know */
  resources?: {gpus?: number; cpus?: number; memoryGiB?: number}
  /** the config trains through the kind's external command (not the built-in trainer) */
  externalTrainer: boolean
}

/** The launch's backend flags; each backend refuses those it cannot honour. */
export interface BackendOptions {
  /** local backend only: interrupt the job at random moments */
  chaos?: ChaosPlan
  /** aws-batch only: queue, array size and (overriding the job's needs) resources of the Batch job */
  batch?: {queue?: 'spot' | 'on-demand'; arraySize?: number; resources?: {gpus?: number; cpus?: number; memoryGiB?: number}}
}

/** A backend's part of a new run record. */
export interface BackendRequest {
  /** run.backend (the core adds the launching host) */
  record: BackendRecord
  /** attempts a run gets when its config sets no retries.attempts */
  defaultAttempts: number
}

export interface Backend {
  readonly name: 'local' | 'aws-batch'
  /** how messages name where this backend's jobs go ("AWS Batch") */
  readonly title: string
  /** jobs run on this machine, so a config may name its folders as they are (else the workdir is staged) */
  readonly runsJobsHere: boolean
  /** What this backend records for a launch; refuses (UsageError, exit 2) flags it cannot honour. */
  requestFor(job: JobNeeds, options: BackendOptions): BackendRequest
  /** Refuses, before anything is recorded, a run this backend cannot run (optional). */
  check?(run: RunRecord): Promise<void>
  /** Asks the live backend whether it can take the run, before anything is staged (optional; rfm cloud launch). */
  preflight?(run: RunRecord, profile: Profile): Promise<void>
  /** What the user should know about a run before it is submitted (optional). */
  launchWarnings?(run: RunRecord): string[]
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
