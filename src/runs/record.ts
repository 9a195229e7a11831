/** The shape of runs/<id>/run.json. Its --json rendering is documented in src/schemas/run.schema.json. */
export type RunState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'
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
}

export interface RetryRule {
  on_exit_code?: string
  on_signal?: string
  action: 'retry' | 'exit'
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
  backend: {name: 'local' | 'aws-batch'; host?: string; supervisorPid?: number; [key: string]: unknown}
  /** the validated config, with defaults filled in and paths made absolute */
  config: Record<string, unknown>
  source: {file?: string; overrides: string[]}
  retries: {attempts: number; evaluate_on_exit: RetryRule[]}
  timeoutSeconds?: number
  attempts: Attempt[]
  exitCode?: number | null
  signal?: string | null
  reason?: string
}

export type RunEvent =
  | {type: 'run_created'; time: string}
  | {type: 'attempt_started'; time: string; attempt: number; pid?: number}
  | {type: 'attempt_ended'; time: string; attempt: number; exitCode: number | null; signal: string | null; action: 'retry' | 'exit'; reason: string}
  | {type: 'cancel_requested'; time: string; graceSeconds: number}
  | {type: 'run_finished'; time: string; state: RunState; reason?: string}
  | {type: string; time: string; [key: string]: unknown}
