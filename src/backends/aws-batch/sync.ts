/**
 * Batch's view of a job merged into the run record. Batch's attempts[] (finished attempts) plus the
 * running one are the source of attempts on this backend; the runtime's events add what Batch does
 * not know: the host's instance type and zone, the checkpoint resumed from, checkpoints committed.
 */
import type {AttemptDetail, JobDetail, JobSummary} from '@aws-sdk/client-batch'

import type {Attempt, RunEvent, RunRecord, RunState} from '../../runs/record'

/** An attempt on AWS Batch: the local fields plus where it ran. */
export interface BatchAttempt extends Attempt {
  arrayIndex?: number
  instanceType?: string
  availabilityZone?: string
  /** "spot" or "on-demand", from the instance metadata */
  lifecycle?: string
  instanceId?: string
  statusReason?: string
  logStream?: string
}

export const RECLAIM = /^Host EC2/

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString())

/** rfm's state for a Batch status. A job back in RUNNABLE after an attempt is still running. */
export function runState(status: string | undefined, attempts: number, cancelRequested: boolean): RunState {
  switch (status) {
    case 'SUCCEEDED':
      return 'succeeded'
    case 'FAILED':
      return cancelRequested ? 'cancelled' : 'failed'
    case 'RUNNING':
    case 'STARTING':
      return 'running'
    default:
      return attempts > 0 ? 'running' : 'queued'
  }
}

/** Attempts of one Batch job (a plain job or one array child). */
export function attemptsOf(job: JobDetail, events: RunEvent[], arrayIndex?: number): BatchAttempt[] {
  const finished = job.attempts ?? []
  const out: BatchAttempt[] = finished.map((a, i) => fromDetail(a, i + 1, i < finished.length - 1 || !isFinal(job.status)))
  const current = job.status === 'RUNNING' || job.status === 'STARTING'
  if (current && job.startedAt !== undefined) {
    out.push({index: finished.length + 1, startedAt: iso(job.startedAt)!, ...(job.container?.logStreamName ? {logStream: job.container.logStreamName} : {})})
  }
  for (const attempt of out) {
    if (arrayIndex !== undefined) attempt.arrayIndex = arrayIndex
    Object.assign(attempt, fromEvents(events.filter((e) => e.attempt === attempt.index && (arrayIndex === undefined ? e.arrayIndex === undefined : e.arrayIndex === arrayIndex))))
    if (attempt.statusReason && RECLAIM.test(attempt.statusReason)) attempt.interruptedBy = 'spot-reclaim'
  }
  return out
}

function isFinal(status: string | undefined): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED'
}

function fromDetail(a: AttemptDetail, index: number, retried: boolean): BatchAttempt {
  const exitCode = a.container?.exitCode
  const reason = [a.statusReason, a.container?.reason].filter(Boolean).join('; ')
  return {
    index,
    startedAt: iso(a.startedAt) ?? iso(a.stoppedAt) ?? new Date(0).toISOString(),
    ...(a.stoppedAt !== undefined ? {endedAt: iso(a.stoppedAt)} : {}),
    exitCode: exitCode ?? null,
    signal: null,
    action: retried ? 'retry' : 'exit',
    ...(reason ? {reason} : {}),
    ...(a.statusReason ? {statusReason: a.statusReason} : {}),
    ...(a.container?.logStreamName ? {logStream: a.container.logStreamName} : {}),
  }
}

/** What the runtime reported about one attempt. */
function fromEvents(mine: RunEvent[]): Partial<BatchAttempt> {
  const host = mine.find((e) => e.type === 'host')
  const resumed = mine.find((e) => e.type === 'resumed')
  const interrupted = mine.find((e) => e.type === 'interrupted')
  const commits = mine.filter((e) => e.type === 'checkpoint_committed')
  const text = (v: unknown) => (typeof v === 'string' && v ? v : undefined)
  const out: Partial<BatchAttempt> = {}
  if (text(host?.instanceType)) out.instanceType = host!.instanceType as string
  if (text(host?.availabilityZone)) out.availabilityZone = host!.availabilityZone as string
  if (text(host?.lifecycle)) out.lifecycle = host!.lifecycle as string
  if (text(host?.instanceId)) out.instanceId = host!.instanceId as string
  if (typeof resumed?.step === 'number') out.resumedFromStep = resumed.step
  if (text(interrupted?.cause)) out.interruptedBy = interrupted!.cause as string
  if (commits.length > 0) {
    out.checkpointsCommitted = commits.length
    out.lastCheckpointStep = Number(commits.at(-1)?.step)
  }
  return out
}

/** Applies a Batch job (and its array children) to the record. */
export function mergeJob(run: RunRecord, job: JobDetail, events: RunEvent[], children: Array<{index: number; job: JobDetail}> = []): void {
  const cancelRequested = events.some((e) => e.type === 'cancel_requested')
  const attempts = children.length > 0 ? children.flatMap((c) => attemptsOf(c.job, events, c.index)) : attemptsOf(job, events)
  run.attempts = attempts
  run.state = runState(job.status, attempts.length, cancelRequested)
  const batch = run.backend as Record<string, unknown>
  batch.status = job.status
  if (job.arrayProperties?.statusSummary) batch.arrayStatus = job.arrayProperties.statusSummary
  if (isFinal(job.status)) {
    const last = attempts.at(-1)
    run.endedAt = iso(job.stoppedAt) ?? last?.endedAt ?? new Date().toISOString()
    run.exitCode = children.length > 0 ? null : (last?.exitCode ?? null)
    run.signal = null
    run.reason = job.statusReason ?? (job.status === 'SUCCEEDED' ? 'exit code 0' : last?.reason)
    if (cancelRequested && job.status === 'FAILED') run.reason = `cancelled${job.statusReason ? ` (${job.statusReason})` : ''}`
  }
}

/** How long a job has waited for capacity in RUNNABLE, in ms (0 when it is not RUNNABLE). */
export function runnableForMs(job: JobDetail, now = Date.now()): number {
  if (job.status !== 'RUNNABLE') return 0
  const lastStop = job.attempts?.at(-1)?.stoppedAt
  const since = lastStop ?? job.createdAt ?? now
  return Math.max(0, now - since)
}

const RUN_ID_PREFIX = /^[a-z][a-z0-9-]*?-\d{8}-\d{6}-[0-9a-f]{4}(?:[0-9a-f]{4})?/

export function isRfmJob(summary: JobSummary): boolean {
  return RUN_ID_PREFIX.test(summary.jobName ?? '')
}

/** The run id a job name starts with (job names are the run id, then its name). */
export function runIdOf(jobName: string): string | undefined {
  return RUN_ID_PREFIX.exec(jobName)?.[0]
}
