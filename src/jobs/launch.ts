import * as os from 'node:os'
import * as path from 'node:path'

import type {Backend, BackendOptions} from '../backends/types'
import type {ResolvedProfile} from '../config/profiles'
import type {ExternalCommand} from '../plugin-api'
import type {RunRecord} from '../runs/record'
import {newRunId} from '../runs/run-id'
import type {RunStore} from '../runs/run-store'
import type {StagedField} from '../staging/config-paths'
import type {ProgressMode} from '../staging/progress'
import {checkLaunch} from './launch-checks'
import type {ResolvedJob} from './resolve'
import {requestedResources} from './resources'

export interface LaunchTarget {
  profile: ResolvedProfile
  runs: RunStore
  backend: Backend
}

export interface LaunchOptions extends BackendOptions {
  /** ask the live backend whether it can take the run before anything is staged (rfm cloud launch) */
  preflight?: boolean
  /** progress display for dataset staging (default silent) */
  progress?: ProgressMode
  /** told about each dataset field (and a staged workdir) */
  onStaged?(staged: StagedField): void
  /** told what the user should know before the job runs (a large workdir, a spot job without retries) */
  onWarning?(message: string): void
}

/** A run as it would be recorded, with the kind's external command when it trains through one. */
export interface PlannedRun {
  run: RunRecord
  command?: ExternalCommand
  /** what the user should know before it is submitted */
  warnings: string[]
}

/**
 * The run record for a job, the kind's hooks asked once: its external command (does it train
 * through one?) and its estimate (what it asks the backend for). The backend adds its own part.
 */
export function planRun(job: ResolvedJob, target: LaunchTarget, options: BackendOptions = {}, now = new Date()): PlannedRun {
  const time = now.toISOString()
  const id = newRunId(job.kind.name, now)
  const command = job.kind.external?.(job.config, {runId: id, attempt: 1, storeUrl: target.runs.store.url, given: job.source.given})
  // always for a kind without a built-in trainer; for a kind with both, when external() gives a command
  const externalTrainer = job.kind.external !== undefined && (!job.kind.train || command !== undefined)
  const request = target.backend.requestFor({resources: requestedResources(job), externalTrainer}, options)
  const run: RunRecord = {
    schemaVersion: 1,
    id,
    kind: job.kind.name,
    plugin: job.plugin,
    ...(job.name ? {name: job.name} : {}),
    state: 'queued',
    createdAt: time,
    updatedAt: time,
    profile: target.profile.name,
    store: target.runs.store.url,
    backend: {...request.record, host: os.hostname()},
    config: job.config,
    source: job.source,
    retries: {...job.retries, attempts: job.retries.attempts ?? request.defaultAttempts},
    ...(job.timeoutSeconds ? {timeoutSeconds: job.timeoutSeconds} : {}),
    attempts: [],
  }
  return {run, ...(command ? {command} : {}), warnings: target.backend.launchWarnings?.(run) ?? []}
}

export function newRunRecord(job: ResolvedJob, target: LaunchTarget, options: BackendOptions = {}, now = new Date()): RunRecord {
  return planRun(job, target, options, now).run
}

/**
 * Stages the datasets the job names by local path (see JobKind.datasetFields), records the run
 * (state queued), then hands it to the backend. The record is planned once, checked before anything
 * is staged, and takes the staged config.
 */
export async function launchRun(job: ResolvedJob, target: LaunchTarget, options: LaunchOptions = {}): Promise<RunRecord> {
  const planned = planRun(job, target, options)
  if (options.preflight) await target.backend.preflight?.(planned.run, target.profile.profile)
  await checkLaunch(job, target, planned)
  const staged = await stageWorkdir(await stageDatasets(job, target, options), target, options)
  const time = new Date().toISOString()
  const record: RunRecord = {...planned.run, config: staged.config, source: staged.source, createdAt: time, updatedAt: time}
  for (const warning of planned.warnings) options.onWarning?.(warning)
  await target.runs.create(record)
  await target.backend.submit(record, target.runs)
  return record
}

/** What a launch would run, without running it (`--dry-run`); it makes every check the launch makes. */
export async function planLaunch(job: ResolvedJob, target: LaunchTarget, options: BackendOptions = {}): Promise<PlannedRun> {
  const planned = planRun(job, target, options)
  await checkLaunch(job, target, planned)
  return planned
}

/**
 * On a backend whose jobs run on other machines (AWS Batch), the config's workdir is staged and
 * recorded by reference, so no path of this machine reaches the job. The local backend runs the
 * command in the folder itself.
 */
async function stageWorkdir(job: ResolvedJob, target: LaunchTarget, options: LaunchOptions): Promise<ResolvedJob> {
  if (target.backend.runsJobsHere) return job
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
