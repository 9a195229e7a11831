import type {RunRecord} from './record'

/** One row of `rfm cloud ls --json` (the `cloud-ls` schema); the dashboard's list extends it. */
export interface RunSummary {
  id: string
  kind: string
  name?: string
  state: string
  createdAt: string
  endedAt?: string
  attempts: number
  backend: string
}

/** The summary of a run whose live state is `state` (the backend's view, which may differ from the record's). */
export function runSummary(run: RunRecord, state: string): RunSummary {
  return {
    id: run.id,
    kind: run.kind,
    ...(run.name ? {name: run.name} : {}),
    state,
    createdAt: run.createdAt,
    ...(run.endedAt ? {endedAt: run.endedAt} : {}),
    attempts: run.attempts.length,
    backend: run.backend.name,
  }
}
