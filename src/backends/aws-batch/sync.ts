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
  /**
   * When the attempt could first be placed (Batch's times): the job's createdAt for the first
   * attempt, the previous attempt's stoppedAt for a retry. Nothing before it is charged to it.
   */
  runnableSince?: string
  /** rfm's own observation: when its sync first saw this attempt in STARTING (Batch gives no time for it) */
  startingSeenAt?: string
  /** when the host booted (the runtime reads the host's uptime), for an attempt that ran on EC2 */
  hostBootedAt?: string
}

/**
 * Where Batch's clock stops: it gives no timestamp for entering STARTING. JobDetail/AttemptDetail
 * `startedAt` is "when the attempt transitioned from the STARTING state to the RUNNING state" and
 * `stoppedAt` "from the RUNNING state to a terminal state"; STARTING means the job has "been scheduled
 * to a host and the relevant container initiation operations are underway. After the container
 * image is pulled and the container is up and running, the job" moves to RUNNING (API reference,
 * AttemptDetail; user guide, "Job states"). `createdAt` is when SubmitJob was called (an array
 * child: when it was spawned, PENDING). So the image pull and instance boot before startedAt are
 * known only from what rfm observes: the key of each attempt rfm saw in STARTING, with the time.
 */
export type StartingSeen = Record<string, string>

export const attemptKey = (attempt: number, arrayIndex?: number) => `${arrayIndex ?? '-'}:${attempt}`

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
export function attemptsOf(job: JobDetail, events: RunEvent[], arrayIndex?: number, seen: StartingSeen = {}): BatchAttempt[] {
  const finished = job.attempts ?? []
  const out: BatchAttempt[] = finished.map((a, i) => fromDetail(a, i + 1, i < finished.length - 1 || !isFinal(job.status)))
  // In STARTING the attempt's container has not started: job.startedAt is then absent, or the
  // previous attempt's (it marks STARTING → RUNNING), so only a RUNNING job lists its current attempt.
  if (job.status === 'RUNNING' && job.startedAt !== undefined) {
    out.push({index: finished.length + 1, startedAt: iso(job.startedAt)!, ...(job.container?.logStreamName ? {logStream: job.container.logStreamName} : {})})
  }
  for (const attempt of out) {
    if (arrayIndex !== undefined) attempt.arrayIndex = arrayIndex
    const runnable = attempt.index === 1 ? job.createdAt : finished[attempt.index - 2]?.stoppedAt
    if (runnable !== undefined) attempt.runnableSince = iso(runnable)
    const startingSeen = seen[attemptKey(attempt.index, arrayIndex)]
    if (startingSeen) attempt.startingSeenAt = startingSeen
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
  if (text(host?.bootedAt) && !Number.isNaN(Date.parse(host!.bootedAt as string))) out.hostBootedAt = host!.bootedAt as string
  if (typeof resumed?.step === 'number') out.resumedFromStep = resumed.step
  if (text(interrupted?.cause)) out.interruptedBy = interrupted!.cause as string
  if (commits.length > 0) {
    out.checkpointsCommitted = commits.length
    out.lastCheckpointStep = Number(commits.at(-1)?.step)
  }
  return out
}

/** Applies a Batch job (and its array children) to the record; `now` is when Batch was asked. */
export function mergeJob(run: RunRecord, job: JobDetail, events: RunEvent[], children: Array<{index: number; job: JobDetail}> = [], now = Date.now()): void {
  const cancelRequested = events.some((e) => e.type === 'cancel_requested')
  const batch = run.backend as Record<string, unknown>
  const seen = noteStarting(batch, children.length > 0 ? children.map((c) => ({job: c.job, arrayIndex: c.index})) : [{job}], now)
  const attempts = children.length > 0 ? children.flatMap((c) => attemptsOf(c.job, events, c.index, seen)) : attemptsOf(job, events, undefined, seen)
  run.attempts = attempts
  run.state = runState(job.status, attempts.length, cancelRequested)
  batch.status = job.status
  if (job.arrayProperties?.statusSummary) batch.arrayStatus = job.arrayProperties.statusSummary
  if (isFinal(job.status)) {
    const last = attempts.at(-1)
    run.endedAt = iso(job.stoppedAt) ?? last?.endedAt ?? new Date().toISOString()
    run.exitCode = children.length > 0 ? null : (last?.exitCode ?? null)
    run.signal = null
    run.reason = job.statusReason ?? (job.status === 'SUCCEEDED' ? 'exit code 0' : last?.reason)
    // ECS's reason for an image it could not pull names the image but not what to do
    if (run.reason && /^CannotPullContainerError/.test(run.reason))
      run.reason += ` (the job's image is not in the registry, or the instance cannot reach it: rfm build ${run.kind} pushes it, and rfm doctor checks it)`
    if (cancelRequested && job.status === 'FAILED') run.reason = `cancelled${job.statusReason ? ` (${job.statusReason})` : ''}`
  }
}

/** Records, once per attempt, the first time rfm sees a job (or array child) in STARTING. */
function noteStarting(batch: Record<string, unknown>, jobs: Array<{job: JobDetail; arrayIndex?: number}>, now: number): StartingSeen {
  const seen: StartingSeen = isStartingSeen(batch.startingSeen) ? {...batch.startingSeen} : {}
  for (const {job, arrayIndex} of jobs) {
    if (job.status !== 'STARTING') continue
    const key = attemptKey((job.attempts?.length ?? 0) + 1, arrayIndex)
    seen[key] ??= new Date(now).toISOString()
  }
  if (Object.keys(seen).length > 0) batch.startingSeen = seen
  return seen
}

function isStartingSeen(value: unknown): value is StartingSeen {
  return typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string')
}

/**
 * What to do about a RUNNABLE job whose statusReason is one of Batch's blocked-queue reasons
 * ("Jobs stuck in a RUNNABLE status", AWS Batch user guide: when the job at the head of a queue is
 * blocked, "the same reason is also updated into the statusReason field" of DescribeJobs). The
 * MISCONFIGURATION and ACTION_REQUIRED ones never clear by waiting, so they are reported at once;
 * CAPACITY ones are reported with the usual wait. Reasons per JobStateTimeLimitActionsReason:
 * COMPUTE_ENVIRONMENT_MAX_RESOURCE, every environment's maxvCpus is below the job's vCPUs;
 * JOB_RESOURCE_REQUIREMENT, no environment has an instance type that meets the job's requirements.
 */
export function blockedReasonAdvice(statusReason: string | undefined): {immediate: boolean; fix: string} | undefined {
  if (!statusReason) return undefined
  if (statusReason.startsWith('MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE'))
    return {immediate: true, fix: "Raise the compute environment's maxvCpus (rfm infra up --max-vcpus FAMILY=N) or ask for fewer vCPUs."}
  if (statusReason.startsWith('MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT'))
    return {immediate: true, fix: 'No instance type in the queue has the GPUs, vCPUs and memory the job asks for: ask for less, or add a larger GPU family (rfm infra up --gpu-families ...).'}
  if (statusReason.startsWith('MISCONFIGURATION:') || statusReason.startsWith('ACTION_REQUIRED'))
    return {immediate: true, fix: 'Fix what the reason names (rfm doctor checks the queues and compute environments), then cancel and launch again.'}
  if (statusReason.startsWith('CAPACITY:')) return {immediate: false, fix: 'The spot market has no capacity for these types now: wait, add GPU families, or use --queue on-demand.'}
  return undefined
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
