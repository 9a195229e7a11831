import * as os from 'node:os'
import * as path from 'node:path'

import type {Backend} from '../backends/types'
import type {ResolvedProfile} from '../config/profiles'
import type {ExternalCommand} from '../plugin-api'
import type {ChaosPlan, RunRecord} from '../runs/record'
import {newRunId} from '../runs/run-id'
import {DEFAULT_ATTEMPTS, DEFAULT_SPOT_ATTEMPTS} from '../runtime/protocol'
import type {RunStore} from '../runs/run-store'
import type {StagedField} from '../staging/config-paths'
import type {ProgressMode} from '../staging/progress'
import {checkLaunch} from './launch-checks'
import type {ResolvedJob} from './resolve'

export interface LaunchTarget {
  profile: ResolvedProfile
  runs: RunStore
  backend: Backend
}

export interface LaunchOptions {
  /** local backend only: interrupt the job at random moments */
  chaos?: ChaosPlan
  /** aws-batch only: queue, array size and resources of the Batch job */
  batch?: {queue?: 'spot' | 'on-demand'; arraySize?: number; resources?: {gpus?: number; cpus?: number; memoryGiB?: number}}
  /** progress display for dataset staging (default silent) */
  progress?: ProgressMode
  /** told about each dataset field (and a staged workdir) */
  onStaged?(staged: StagedField): void
  /** told what the user should know before the job runs (a large workdir, a spot job without retries) */
  onWarning?(message: string): void
}

export function newRunRecord(job: ResolvedJob, target: LaunchTarget, options: LaunchOptions = {}, now = new Date()): RunRecord {
  const time = now.toISOString()
  return {
    schemaVersion: 1,
    id: newRunId(job.kind.name, now),
    kind: job.kind.name,
    plugin: job.plugin,
    ...(job.name ? {name: job.name} : {}),
    state: 'queued',
    createdAt: time,
    updatedAt: time,
    profile: target.profile.name,
    store: target.runs.store.url,
    backend: {
      name: target.backend.name,
      host: os.hostname(),
      ...(options.chaos ? {chaos: options.chaos} : {}),
      ...(target.backend.name === 'aws-batch'
        ? {request: {...options.batch, queue: options.batch?.queue ?? 'spot', ...(trainsExternally(job) ? {externalTrainer: true} : {})}}
        : {}),
    },
    config: job.config,
    source: job.source,
    retries: {...job.retries, attempts: job.retries.attempts ?? defaultAttempts(target.backend.name, options)},
    ...(job.timeoutSeconds ? {timeoutSeconds: job.timeoutSeconds} : {}),
    attempts: [],
  }
}

/** Attempts when the config sets none: enough on a spot queue to survive reclaims, else one. */
export function defaultAttempts(backend: string, options: LaunchOptions): number {
  const spot = backend === 'aws-batch' && (options.batch?.queue ?? 'spot') === 'spot'
  return spot ? DEFAULT_SPOT_ATTEMPTS : DEFAULT_ATTEMPTS
}

/** What the user should know about a run before it is submitted. */
export function launchWarnings(run: RunRecord): string[] {
  const request = run.backend.request as {queue?: string} | undefined
  if (run.backend.name === 'aws-batch' && request?.queue === 'spot' && run.retries.attempts === 1) {
    return ['retries.attempts is 1 on the spot queue: the first spot reclaim fails the run (its checkpoints stay in the store, but nothing resumes them). Set retries.attempts to 3 or more, or leave it unset (default 5 on spot).']
  }
  return []
}

/**
 * Whether this config trains through the kind's external command (so it needs the external image):
 * always for a kind without a built-in trainer; for a kind with both, when external() gives a command.
 */
function trainsExternally(job: ResolvedJob): boolean {
  if (!job.kind.external) return false
  if (!job.kind.train) return true
  return job.kind.external(job.config, {runId: 'plan', attempt: 1, storeUrl: '', given: job.source.given}) !== undefined
}

/** Stages the datasets the job names by local path (see JobKind.datasetFields), records the run (state queued), then hands it to the backend. */
export async function launchRun(job: ResolvedJob, target: LaunchTarget, options: LaunchOptions = {}): Promise<RunRecord> {
  await checkLaunch(job, target, options, newRunRecord(job, target, options))
  const record = newRunRecord(await stageWorkdir(await stageDatasets(job, target, options), target, options), target, options)
  for (const warning of launchWarnings(record)) options.onWarning?.(warning)
  await target.runs.create(record)
  await target.backend.submit(record, target.runs)
  return record
}

/** What a launch would run, without running it (`--dry-run`); it makes every check the launch makes. */
export async function planLaunch(job: ResolvedJob, target: LaunchTarget, options: LaunchOptions = {}): Promise<{run: RunRecord; command?: ExternalCommand}> {
  const run = newRunRecord(job, target, options)
  await checkLaunch(job, target, options, run)
  const command = job.kind.external?.(job.config, {runId: run.id, attempt: 1, storeUrl: run.store, given: job.source.given})
  return {run, command}
}

/**
 * On a backend whose jobs run on other machines (AWS Batch), the config's workdir is staged and
 * recorded by reference, so no path of this machine reaches the job. The local backend runs the
 * command in the folder itself.
 */
async function stageWorkdir(job: ResolvedJob, target: LaunchTarget, options: LaunchOptions): Promise<ResolvedJob> {
  if (target.backend.name === 'local') return job
  const {stageWorkdir: stage} = await import('./workdir.js')
  return {...job, config: await stage(job.config, target.runs.store, options)}
}

/**
 * Replaces local paths in the kind's dataset fields by references to staged copies in the run's
 * store, so the job reads exactly what was on disk at launch. A no-op for kinds without such fields.
 */
export async function stageDatasets(job: ResolvedJob, target: LaunchTarget, options: LaunchOptions = {}): Promise<ResolvedJob> {
  const fields = job.kind.datasetFields ?? []
  if (fields.length === 0) return job
  const {stageConfigPaths} = await import('../staging/config-paths.js')
  const baseDir = job.source.file ? path.dirname(job.source.file) : process.cwd()
  const {config, staged} = await stageConfigPaths(job.config, fields, target.runs.store, {baseDir, stage: {progress: options.progress}, onStaged: options.onStaged})
  if (staged.length === 0) return {...job, config}
  return {...job, config, source: {...job.source, stagedFrom: Object.fromEntries(staged.map((s) => [s.ref, s.given]))}}
}
