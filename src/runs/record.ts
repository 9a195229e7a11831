/** The shape of runs/<id>/run.json. Its --json rendering is documented in src/schemas/run.schema.json. */
/** 'lost' is never recorded: status shows it for a run whose supervisor died without recording an end (D19). */
export type RunState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'lost'
export const FINAL_STATES: ReadonlySet<RunState> = new Set(['succeeded', 'failed', 'cancelled'])

export interface Attempt {
  index: number
  startedAt: string
  endedAt?: string
  pid?: number
  exitCode?: number | null
  signal?: string | null
  /** what the backend did after this attempt: retry it, or stop (success or final failure) */
  action?: 'retry' | 'exit'
  reason?: string
  /** from the runtime's events: the checkpoint step this attempt resumed from */
  resumedFromStep?: number
  /** what interrupted it: SIGTERM, spot-notice, ... */
  interruptedBy?: string
  /** set when the local backend's chaos mode stopped this attempt, with the signal */
  chaos?: string
  /** built-in trainers: the tfjs backend that ran */
  trainerBackend?: string
  checkpointsCommitted?: number
  lastCheckpointStep?: number
  /** checkpoint commits that failed in this attempt (each retried with backoff), and the last reason */
  checkpointFailures?: number
  lastCheckpointError?: string
}

/** The local backend's chaos mode: interrupt the job N times at random moments, as a spot fleet would. */
export interface ChaosPlan {
  kills: number
  seed: number
  signal: 'TERM' | 'KILL' | 'mixed'
  /** a kill comes this many seconds after an attempt starts, uniformly between min and max */
  minSeconds: number
  maxSeconds: number
}

export interface RetryRule {
  on_exit_code?: string
  on_signal?: string
  action: 'retry' | 'exit'
}

/** What `rfm cloud launch` asked of AWS Batch (--queue, --array, the job's resources), kept in run.backend.request. */
export interface BatchRequest {
  queue: 'spot' | 'on-demand'
  /** array job size (≥ 2) */
  arraySize?: number
  /** what the config (or the kind's real estimate) asks for; unset: the job definition's values */
  resources?: {gpus?: number; cpus?: number; memoryGiB?: number}
  /** the image the job runs in, resolved at submit */
  image?: string
  /** set when this config trains through the kind's external command: it runs in the external (Python) image */
  externalTrainer?: boolean
  user?: string
}

/** run.backend: what each backend records, told apart by name. */
export type BackendRecord = LocalBackendRecord | BatchBackendRecord

export interface LocalBackendRecord {
  name: 'local'
  host?: string
  supervisorPid?: number
  chaos?: ChaosPlan
  /** what the backend adds while the run goes on */
  [key: string]: unknown
}

export interface BatchBackendRecord {
  name: 'aws-batch'
  host?: string
  request: BatchRequest
  jobId?: string
  jobQueue?: string
  jobDefinition?: string
  /** what Batch says as the run goes on (status, arrayStatus, ...; src/backends/aws-batch/sync.ts) */
  [key: string]: unknown
}

export interface RunRecord {
  schemaVersion: 1
  id: string
  kind: string
  /** the package that provides the kind, and its folder on the launching machine */
  plugin: {name: string; root?: string}
  name?: string
  state: RunState
  createdAt: string
  updatedAt: string
  endedAt?: string
  profile: string
  store: string
  backend: BackendRecord
  /** the validated config, with defaults filled in and paths made absolute */
  config: Record<string, unknown>
  /** the config file, the overrides as given, and the keys the user set (external mode passes exactly those) */
  source: {file?: string; overrides: string[]; given?: import('../plugin-api').GivenKeys; stagedFrom?: Record<string, string>}
  retries: {attempts: number; evaluate_on_exit: RetryRule[]}
  timeoutSeconds?: number
  attempts: Attempt[]
  exitCode?: number | null
  signal?: string | null
  reason?: string
}

/**
 * One line of events.jsonl. Types: run_created; attempt_started {attempt, pid}; attempt_ended
 * {attempt, exitCode, signal, action, reason}; cancel_requested {graceSeconds}; run_finished {state,
 * reason}; and from the runtime, each with {attempt}: resumed {step}, interrupted {cause},
 * checkpoint_committed {step, bytes}, checkpoint_skipped {warning}, config_rejected {reason} (this image's
 * plugin version rejects the recorded config: exit 2).
 */
export interface RunEvent {
  type: string
  time: string
  attempt?: number
  [key: string]: unknown
}
