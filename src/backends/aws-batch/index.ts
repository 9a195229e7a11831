import * as os from 'node:os'

import type {BatchClient, JobDetail} from '@aws-sdk/client-batch'

import {resolveProfile, type Profile} from '../../config/profiles'
import {BackendError} from '../../errors'
import {FINAL_STATES, type RunRecord} from '../../runs/record'
import type {RunStore} from '../../runs/run-store'
import type {Backend, LiveView, LogChunk, QueueJob} from '../types'
import {batchClient, logsClient} from './clients'
import {definitionWithImage, planDefinition} from './definitions'
import {aws} from './errors'
import {DEFAULT_LOG_GROUP, LogStreamReader} from './logs'
import {batchLaunchWarnings, batchRequestFor, checkRequest, chooseJobDefinition, chooseQueue, requestOptions, submitJobInput} from './request'
import {blockedReasonAdvice, isRfmJob, mergeJob, runIdOf, runnableForMs} from './sync'

export interface BatchBackendOptions {
  /** the profile to use (default: the run's own profile, read when needed) */
  profile?: Profile
  /** resolves the image a run needs (default: ensureImage with the profile's imageRepository) */
  resolveImage?: (run: RunRecord, profile: Profile) => Promise<string | undefined>
  /** how often logs -f and cancel poll Batch */
  pollMs?: number
  /** a job RUNNABLE longer than this gets a warning in status */
  runnableWarnMinutes?: number
  /** how long cancel waits for Batch to stop the job (beyond the grace) */
  cancelWaitSeconds?: number
}

const STATUSES_ACTIVE = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING'] as const

/**
 * AWS Batch: a run is one Batch job (or an array job). The CLI never has to stay alive: submit
 * records the job id in run.json; status, logs, cancel and cost ask Batch and CloudWatch when run.
 */
export class BatchBackend implements Backend {
  readonly name = 'aws-batch' as const
  readonly title = 'AWS Batch'
  readonly runsJobsHere = false
  private batch: BatchClient | undefined
  private readonly pollMs: number
  private readonly runnableWarnMs: number
  /** the last DescribeJobs answer per run, so observe after refresh costs no call */
  private readonly seen = new Map<string, JobDetail | null>()

  constructor(private readonly options: BatchBackendOptions = {}) {
    this.pollMs = options.pollMs ?? Number(process.env.RFM_BATCH_POLL_MS ?? 2000)
    this.runnableWarnMs = (options.runnableWarnMinutes ?? Number(process.env.RFM_BATCH_RUNNABLE_WARN_MINUTES ?? 15)) * 60_000
  }

  private async profileOf(run: RunRecord): Promise<Profile> {
    return this.options.profile ?? (await resolveProfile(run.profile)).profile
  }

  private async client(profile: Profile): Promise<BatchClient> {
    this.batch ??= await batchClient(profile.region)
    return this.batch
  }

  readonly requestFor = batchRequestFor
  readonly launchWarnings = batchLaunchWarnings

  /** The queues and the kind's job definition, asked of AWS before anything is staged. */
  async preflight(run: RunRecord, profile: Profile): Promise<void> {
    const request = requestOptions(run)
    await (await import('../../doctor/preflight.js')).preflight(profile, run.kind, {queue: request.queue, ...(request.resources ? {resources: request.resources} : {})})
  }

  async check(run: RunRecord): Promise<void> {
    const options = requestOptions(run)
    checkRequest(options)
    // A profile without queues or a job definition for the kind fails here, before a record exists.
    const profile = await this.profileOf(run)
    chooseQueue(profile, options)
    chooseJobDefinition(profile, run, options)
  }

  async submit(run: RunRecord, runs: RunStore): Promise<void> {
    const submitted: {jobId?: string} = {}
    try {
      await this.submitJob(run, runs, submitted)
    } catch (error) {
      if (submitted.jobId) {
        throw new BackendError(`Batch job ${submitted.jobId} was submitted, but its id could not be recorded in run ${run.id}: ${(error as Error).message}`, {
          hint: `Cancel it with: aws batch terminate-job --job-id ${submitted.jobId} --reason rfm, then launch again.`,
          cause: error,
        })
      }
      // Nothing runs: close the record so it does not stay queued forever.
      const time = new Date().toISOString()
      const reason = `not submitted: ${(error as Error).message}`
      const closed = await runs.update(run.id, (r) => Object.assign(r, {state: 'failed', endedAt: time, reason})).catch(() => undefined)
      if (closed) await runs.appendEvent(run.id, {type: 'run_finished', time, state: 'failed', reason})
      throw error
    }
  }

  async planRequests(run: RunRecord): Promise<Record<string, unknown>> {
    const profile = await this.profileOf(run)
    const options = requestOptions(run)
    // Tags from content hashes only: nothing is built or pushed.
    const image = options.image ?? (await (this.options.resolveImage ?? planImage)(run, profile))
    const input = submitJobInput(run, profile, {...options, image, user: options.user ?? userName()})
    if (!image) return {submitJob: input}
    const plan = await planDefinition(await this.client(profile), input.jobDefinition as string, image)
    if (!plan.register) return {submitJob: {...input, jobDefinition: plan.arn}}
    // The new revision's ARN is known only once it is registered.
    return {registerJobDefinition: plan.register, submitJob: {...input, jobDefinition: `${plan.register.jobDefinitionName}:<revision registered at launch>`}}
  }

  private async submitJob(run: RunRecord, runs: RunStore, submitted: {jobId?: string}): Promise<void> {
    const profile = await this.profileOf(run)
    const options = requestOptions(run)
    const image = options.image ?? (await (this.options.resolveImage ?? defaultResolveImage)(run, profile))
    const input = submitJobInput(run, profile, {...options, image, user: options.user ?? userName()})
    const {SubmitJobCommand} = await import('@aws-sdk/client-batch')
    const client = await this.client(profile)
    // Batch takes the image from the job definition.
    if (image) {
      const {arn, registered} = await definitionWithImage(client, input.jobDefinition as string, image)
      input.jobDefinition = arn
      if (registered) await runs.appendEvent(run.id, {type: 'job_definition_registered', time: new Date().toISOString(), jobDefinition: arn, image})
    }
    // Recorded before the job exists: once it runs, the runtime appends to events.jsonl, and an
    // append from here then could race it (appends to S3 are read-modify-write).
    await runs.appendEvent(run.id, {type: 'submitting', time: new Date().toISOString(), jobQueue: input.jobQueue, jobDefinition: input.jobDefinition})
    const out = await aws('submitting the job', () => client.send(new SubmitJobCommand(input)))
    // SubmitJob's response has jobId "Required: Yes"; without one the job could not be followed.
    if (typeof out.jobId !== 'string' || !out.jobId) {
      throw new BackendError(`AWS Batch accepted job ${input.jobName} but returned no job id.`, {
        hint: `Find it with: aws batch list-jobs --job-queue ${input.jobQueue} --filters name=JOB_NAME,values=${input.jobName}; cancel it there if it runs, then launch again.`,
      })
    }
    submitted.jobId = out.jobId
    await runs.update(run.id, (r) => {
      Object.assign(r.backend, {
        jobId: out.jobId,
        jobQueue: input.jobQueue,
        jobDefinition: input.jobDefinition,
        ...(input.arrayProperties ? {arrayProperties: input.arrayProperties} : {}),
        request: {...options, ...(image ? {image} : {})},
      })
    })
  }

  private async describe(profile: Profile, ids: string[]): Promise<JobDetail[]> {
    const {DescribeJobsCommand} = await import('@aws-sdk/client-batch')
    const client = await this.client(profile)
    const jobs: JobDetail[] = []
    for (let i = 0; i < ids.length; i += 100) {
      const out = await aws('describing the job', () => client.send(new DescribeJobsCommand({jobs: ids.slice(i, i + 100)})))
      jobs.push(...(out.jobs ?? []))
    }
    return jobs
  }

  async refresh(run: RunRecord, runs: RunStore): Promise<RunRecord> {
    const jobId = recordedJobId(run)
    if (!jobId) return run
    const profile = await this.profileOf(run)
    const [job] = await this.describe(profile, [jobId])
    this.seen.set(run.id, job ?? null)
    if (!job) return run
    const size = job.arrayProperties?.size ?? 0
    const children =
      size > 0
        ? await this.describe(
            profile,
            Array.from({length: size}, (_, i) => `${jobId}:${i}`),
          )
        : []
    // When Batch answered: a STARTING seen in this answer is dated so (the store reads below take time).
    const askedAt = Date.now()
    // The runtime appends to events.jsonl while this reads it; on S3 a read can race the rewrite.
    const events = await storeRead(() => runs.events(run.id))
    const wasFinal = FINAL_STATES.has(run.state)
    const updated = await runs.update(run.id, (r) =>
      mergeJob(
        r,
        job,
        events,
        children.map((c) => ({index: c.arrayProperties?.index ?? 0, job: c})),
        askedAt,
      ),
    )
    if (!wasFinal && FINAL_STATES.has(updated.state) && !events.some((e) => e.type === 'run_finished')) {
      await runs.appendEvent(run.id, {type: 'run_finished', time: updated.endedAt ?? new Date().toISOString(), state: updated.state, reason: updated.reason})
    }
    return updated
  }

  async observe(run: RunRecord): Promise<LiveView> {
    const jobId = recordedJobId(run)
    if (!jobId) {
      if (FINAL_STATES.has(run.state)) return {}
      const age = Date.now() - Date.parse(run.createdAt)
      return age > 60_000 ? {state: 'lost', reason: 'it was never submitted to AWS Batch (no job id in its record)'} : {}
    }
    if (FINAL_STATES.has(run.state)) return {}
    let job = this.seen.get(run.id)
    if (job === undefined) [job] = await this.describe(await this.profileOf(run), [jobId])
    if (!job) {
      return FINAL_STATES.has(run.state) ? {} : {state: 'lost', reason: `AWS Batch no longer knows job ${jobId} (Batch keeps ended jobs for about 7 days)`}
    }
    const warnings: string[] = []
    const waited = runnableForMs(job)
    const blocked = job.status === 'RUNNABLE' ? blockedReasonAdvice(job.statusReason) : undefined
    if (blocked?.immediate) {
      warnings.push(`AWS Batch cannot place the job: ${job.statusReason}. ${blocked.fix}`)
    } else if (waited > 0 && waited >= this.runnableWarnMs) {
      warnings.push(
        blocked
          ? `The job has been RUNNABLE for ${Math.round(waited / 60_000)} min: ${job.statusReason}. ${blocked.fix}`
          : `The job has been RUNNABLE for ${Math.round(waited / 60_000)} min: Batch cannot place it. Check the EC2 vCPU quota for the instance family (Service Quotas: "Running On-Demand/All G and VT Spot Instance Requests"), ` +
              `the compute environment's maxvCpus, and that its instance types are offered in its subnets' availability zones. A spot queue may simply lack capacity: try --queue on-demand.`,
      )
    }
    return {status: job.status, ...(warnings.length > 0 ? {warnings} : {})}
  }

  async cancel(run: RunRecord, runs: RunStore, {graceSeconds}: {graceSeconds: number}): Promise<RunRecord> {
    const current = await this.refresh(run, runs)
    if (FINAL_STATES.has(current.state)) return current
    const jobId = recordedJobId(current)
    await runs.appendEvent(run.id, {type: 'cancel_requested', time: new Date().toISOString(), graceSeconds})
    if (!jobId) {
      return runs.update(run.id, (r) => {
        r.state = 'cancelled'
        r.endedAt = new Date().toISOString()
        r.reason = 'cancelled before it was submitted'
      })
    }
    const profile = await this.profileOf(run)
    const client = await this.client(profile)
    const {CancelJobCommand, TerminateJobCommand} = await import('@aws-sdk/client-batch')
    const status = recordedStatus(current)
    const reason = `Cancelled by rfm cloud cancel (${userName()})`
    // Batch cancels a job that has not started; one STARTING or RUNNING (or an array job whose
    // children may run) has to be terminated: its container gets SIGTERM, then SIGKILL.
    if (!current.backend.arrayProperties && (status === 'SUBMITTED' || status === 'PENDING' || status === 'RUNNABLE')) {
      await aws('cancelling the job', () => client.send(new CancelJobCommand({jobId, reason})))
    } else {
      await aws('terminating the job', () => client.send(new TerminateJobCommand({jobId, reason})))
    }
    const deadline = Date.now() + (graceSeconds + (this.options.cancelWaitSeconds ?? 60)) * 1000
    let latest = current
    while (Date.now() < deadline) {
      this.seen.delete(run.id)
      latest = await this.refresh(latest, runs)
      if (FINAL_STATES.has(latest.state)) return latest
      await sleep(this.pollMs)
    }
    return latest
  }

  async streamLogs(run: RunRecord, runs: RunStore, options: {follow: boolean; attempt?: number; onChunk(chunk: LogChunk): void}): Promise<RunRecord> {
    const profile = await this.profileOf(run)
    const reader = new LogStreamReader(await logsClient(profile.region), profile.logGroup ?? DEFAULT_LOG_GROUP)
    let latest = run
    for (;;) {
      latest = await this.refresh(latest, runs)
      const final = FINAL_STATES.has(latest.state)
      for (const attempt of latest.attempts as Array<RunRecord['attempts'][number] & {logStream?: string; arrayIndex?: number}>) {
        if (options.attempt !== undefined && attempt.index !== options.attempt) continue
        if (!attempt.logStream) continue
        const text = await reader.read(attempt.logStream)
        if (text) options.onChunk({attempt: attempt.index, text})
      }
      if (final || !options.follow) return latest
      await sleep(this.pollMs)
    }
  }

  async queueJobs(): Promise<QueueJob[]> {
    const profile = this.options.profile ?? (await resolveProfile()).profile
    const queues = [...new Set(Object.values(profile.queues ?? {}).filter((q): q is string => Boolean(q)))]
    const {ListJobsCommand} = await import('@aws-sdk/client-batch')
    const client = await this.client(profile)
    const jobs: QueueJob[] = []
    for (const queue of queues) {
      for (const jobStatus of STATUSES_ACTIVE) {
        let nextToken: string | undefined
        do {
          const page = await aws('listing the queue', () => client.send(new ListJobsCommand({jobQueue: queue, jobStatus, ...(nextToken ? {nextToken} : {})})))
          for (const s of page.jobSummaryList ?? []) {
            jobs.push({
              queue,
              jobId: s.jobId ?? '',
              jobName: s.jobName ?? '',
              status: s.status ?? jobStatus,
              ...(isRfmJob(s) ? {runId: runIdOf(s.jobName ?? '')} : {}),
              ...(s.createdAt ? {createdAt: new Date(s.createdAt).toISOString()} : {}),
            })
          }
          nextToken = page.nextToken
        } while (nextToken)
      }
    }
    return jobs
  }
}

/** The image a launch would use, from content hashes only (no docker, no ECR). */
async function planImage(run: RunRecord, profile: Profile): Promise<string | undefined> {
  if (!profile.imageRepository) return undefined
  const {ensureImage} = await import('../../containers/ensure.js')
  return (await ensureImage({kind: {name: run.kind}, plugin: run.plugin}, profile, {external: requestOptions(run).externalTrainer, dryRun: true})).ref
}

async function defaultResolveImage(run: RunRecord, profile: Profile): Promise<string | undefined> {
  // Without an image repository the job definition's own image is used as is.
  if (!profile.imageRepository) return undefined
  const {ensureImage} = await import('../../containers/ensure.js')
  const result = await ensureImage({kind: {name: run.kind}, plugin: run.plugin}, profile, {
    external: requestOptions(run).externalTrainer,
    log: (line) => process.stderr.write(`${line}\n`),
  })
  return result.ref
}

/** The Batch job id in a run's record: absent before submit; anything but a non-empty string is a damaged record. */
function recordedJobId(run: RunRecord): string | undefined {
  const id = run.backend.jobId
  if (id === undefined || id === null) return undefined
  if (typeof id !== 'string' || !id) {
    throw new BackendError(`Run ${run.id}'s record has backend.jobId ${JSON.stringify(id)}, not an AWS Batch job id (a string).`, {
      hint: `Look the job up in the AWS Batch console by its name (it starts with ${run.id}) and fix or remove backend.jobId in the run's run.json.`,
    })
  }
  return id
}

/** Batch's status as last recorded (JobDetail.status); a status Batch may add later passes, a non-string does not. */
function recordedStatus(run: RunRecord): string | undefined {
  const status = run.backend.status
  if (status === undefined || status === null) return undefined
  if (typeof status !== 'string') {
    throw new BackendError(`Run ${run.id}'s record has backend.status ${JSON.stringify(status)}, not an AWS Batch job status (a string such as RUNNING).`, {
      hint: `Remove backend.status from the run's run.json; rfm reads it from Batch again on the next rfm cloud status ${run.id}.`,
    })
  }
  return status
}

function userName(): string {
  try {
    return os.userInfo().username
  } catch {
    return process.env.USER ?? 'unknown'
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A store read, tried again a few times when it fails on the way (an object being rewritten). */
async function storeRead<T>(read: () => Promise<T>, tries = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await read()
    } catch (error) {
      if (i >= tries) throw error
      await sleep(100 * i)
    }
  }
}
