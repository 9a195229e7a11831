/**
 * An emulator of AWS Batch on EC2 (and the CloudWatch Logs of its jobs), wired behind
 * aws-sdk-client-mock or served over HTTP. Each job walks SUBMITTED → PENDING → RUNNABLE → STARTING
 * → RUNNING → SUCCEEDED/FAILED; each attempt runs the image's entry point (the REAL rfm runtime).
 * The rules it enforces are Batch's, quoted from the API reference next to the code (rules.ts), not
 * rfm's: the job definitions come from the stack (program.ts: rfm's Pulumi program under mocks) and
 * SubmitJob overrides replace their environment variables, resources, retry strategy and timeout.
 *
 * With `container`, attempts run as the image's user in a fresh WORKDIR with only the container's
 * environment (container.ts); their S3 requests go through an IAM-evaluating proxy (s3-iam-proxy.ts)
 * and their 169.254.169.254 is the emulator's IMDS (imds.ts). Without it (the older tests), attempts
 * run as this user with this process's environment plus the container's.
 *
 * Time: `secondsMs` is how many real milliseconds one emulated second lasts (the two-minute spot
 * notice, attemptDurationSeconds), so tests do not wait minutes.
 */
import type {ChildProcess} from 'node:child_process'
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {constants} from 'node:os'

import {
  BatchClient,
  CancelJobCommand,
  DescribeComputeEnvironmentsCommand,
  DescribeJobDefinitionsCommand,
  DescribeJobQueuesCommand,
  DescribeJobsCommand,
  ListJobsCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  TerminateJobCommand,
  type AttemptDetail,
  type JobDefinition,
  type JobDetail,
  type RegisterJobDefinitionCommandInput,
  type SubmitJobCommandInput,
} from '@aws-sdk/client-batch'
import {CloudWatchLogsClient, GetLogEventsCommand} from '@aws-sdk/client-cloudwatch-logs'
import {mockClient} from 'aws-sdk-client-mock'

import {startContainer} from './container'
import {ACTIVE, jobDetail, killGroup, lineCollector, randomUuid, OOM_REASON, TIMEOUT_REASON, type Current, type FakeBatchOptions, type FakeJob, type LogEvent} from './types'
import {InstanceMetadataService} from './imds'
import {ClientException, effectiveJob, retryDecision, validateSubmitJob} from './rules'

export {batchGlob} from './rules'
export {OOM_REASON, TIMEOUT_REASON, killGroup, type ContainerWorld, type FakeBatchOptions, type FakeHost, type FakeJob} from './types'

export class FakeBatch {
  readonly jobs = new Map<string, FakeJob>()
  readonly streams = new Map<string, LogEvent[]>()
  readonly definitions = new Map<string, JobDefinition>()
  /** every request received, by operation, in order */
  readonly calls: Record<'SubmitJob' | 'DescribeJobs' | 'CancelJob' | 'TerminateJob' | 'ListJobs' | 'GetLogEvents' | 'RegisterJobDefinition', unknown[]> = {
    RegisterJobDefinition: [],
    SubmitJob: [],
    DescribeJobs: [],
    CancelJob: [],
    TerminateJob: [],
    ListJobs: [],
    GetLogEvents: [],
  }
  /** SubmitJob requests refused (ClientException), with the reason */
  readonly refused: Array<{input: unknown; message: string}> = []
  readonly imds = new InstanceMetadataService()
  private batchMock: {restore(): void} | undefined
  private logsMock: {restore(): void} | undefined
  httpServer: import('node:http').Server | undefined
  private attemptsStarted = 0
  private hold: boolean
  /** called when an attempt starts: lets a test schedule a reclaim */
  onAttemptStart?: (job: FakeJob, attempt: number) => void

  constructor(readonly options: FakeBatchOptions) {
    this.hold = options.hold ?? false
  }

  private get secondsMs(): number {
    return this.options.secondsMs ?? 25
  }

  async start(): Promise<this> {
    await this.imds.start()
    for (const definition of this.options.jobDefinitions ?? []) this.definitions.set(definition.jobDefinitionArn!, structuredClone(definition))
    if (!this.options.jobDefinitions) {
      for (const [arn, image] of Object.entries(this.options.definitions ?? {[JOB_DEFINITION]: IMAGE})) {
        const [name, revision] = arn.split('/').pop()!.split(':')
        this.definitions.set(arn, {
          jobDefinitionArn: arn,
          jobDefinitionName: name,
          revision: Number(revision),
          type: 'container',
          status: 'ACTIVE',
          containerProperties: {
            image,
            command: [],
            resourceRequirements: [
              {type: 'VCPU', value: '4'},
              {type: 'MEMORY', value: '14000'},
            ],
          },
          retryStrategy: {attempts: 5},
          propagateTags: true,
        })
      }
    }
    // Mocks are made here, not in the constructor, so an emulator replacing a stopped one takes over.
    const batchMock = (this.batchMock = mockClient(BatchClient))
    const logsMock = (this.logsMock = mockClient(CloudWatchLogsClient))
    batchMock.on(SubmitJobCommand).callsFake((input) => this.submitJob(input))
    batchMock.on(DescribeJobDefinitionsCommand).callsFake((input) => this.describeJobDefinitions(input))
    batchMock.on(RegisterJobDefinitionCommand).callsFake((input) => this.registerJobDefinition(input))
    batchMock.on(DescribeJobsCommand).callsFake((input) => this.describeJobs(input))
    batchMock.on(DescribeJobQueuesCommand).callsFake((input) => this.describeJobQueues(input))
    batchMock.on(DescribeComputeEnvironmentsCommand).callsFake((input) => this.describeComputeEnvironments(input))
    batchMock.on(CancelJobCommand).callsFake((input) => this.cancelJob(input))
    batchMock.on(TerminateJobCommand).callsFake((input) => this.terminateJob(input))
    batchMock.on(ListJobsCommand).callsFake((input) => this.listJobs(input))
    logsMock.on(GetLogEventsCommand).callsFake((input) => this.getLogEvents(input))
    return this
  }

  async stop(): Promise<void> {
    for (const job of this.jobs.values()) {
      if (job.current?.child?.pid) killGroup(job.current.child.pid, 'SIGKILL')
      for (const timer of job.current?.timers ?? []) clearTimeout(timer)
      job.current?.dispose?.()
    }
    this.batchMock?.restore()
    this.logsMock?.restore()
    await this.imds.stop()
    this.httpServer?.closeAllConnections()
    await new Promise<void>((resolve) => (this.httpServer ? this.httpServer.close(() => resolve()) : resolve()))
  }

  /** The image pulls finish: jobs held in STARTING start their containers. */
  releaseStarting(): void {
    this.options.holdStarting = false
    for (const job of this.jobs.values()) if (job.status === 'STARTING' && !job.current) this.later(() => this.runAttempt(job))
  }

  /** Capacity arrives: held RUNNABLE jobs start. */
  release(): void {
    this.hold = false
    for (const job of this.jobs.values()) if (job.status === 'RUNNABLE' && !job.children) this.later(() => this.place(job))
  }

  job(jobId: string): FakeJob {
    const job = this.jobs.get(jobId)
    if (!job) throw new Error(`batch emulator: no job ${jobId}`)
    return job
  }

  /**
   * EC2 reclaims the spot host of the job's running attempt. With `graceful` (the default), EC2
   * first posts the interruption notice at IMDS spot/instance-action and terminates the host two
   * (emulated) minutes later ("Spot Instance interruption notices": "a warning that is issued two
   * minutes before Amazon EC2 interrupts a Spot Instance"); without, the host is gone at once. ECS
   * does not stop Batch's (standalone) tasks on a notice: only the runtime's IMDS poll sees it. An
   * attempt still running when the host goes ends with status reason "Host EC2 (instance …) terminated.".
   */
  reclaim(jobId: string, {graceful = true, attempt}: {graceful?: boolean; attempt?: number} = {}): boolean {
    const job = this.job(jobId)
    const current = job.current
    if (!current?.child?.pid || current.reclaimed) return false
    // Only the attempt the caller meant (a late timer must not hit its successor).
    if (attempt !== undefined && job.attempts.length + 1 !== attempt) return false
    current.reclaimed = true
    const terminate = () => {
      current.stopReason = `Host EC2 (instance ${current.instanceId}) terminated.`
      if (current.child.pid) killGroup(current.child.pid, 'SIGKILL')
    }
    if (!graceful) {
      terminate()
      return true
    }
    const host = this.imds.hosts.get(current.key)!
    host.instanceAction = {action: 'terminate', time: new Date(Date.now() + 120_000).toISOString().replace(/\.\d+Z$/, 'Z')}
    current.timers.push(setTimeout(() => (job.current === current ? terminate() : undefined), 120 * this.secondsMs))
    return true
  }

  // --- Batch API ---

  describeJobDefinitions(input: {jobDefinitions?: string[]; jobDefinitionName?: string; status?: string}) {
    return {
      jobDefinitions: [...this.definitions.values()]
        .filter((d) => (input.jobDefinitions ? input.jobDefinitions.includes(d.jobDefinitionArn!) : input.jobDefinitionName === undefined || d.jobDefinitionName === input.jobDefinitionName))
        .filter((d) => !input.status || d.status === input.status)
        .map((d) => structuredClone(d)),
    }
  }

  registerJobDefinition(input: RegisterJobDefinitionCommandInput) {
    this.calls.RegisterJobDefinition.push(input)
    const revision = Math.max(0, ...[...this.definitions.values()].filter((d) => d.jobDefinitionName === input.jobDefinitionName).map((d) => d.revision ?? 0)) + 1
    const region = [...this.definitions.keys()][0]?.split(':')[3] ?? 'us-east-1'
    const arn = `arn:aws:batch:${region}:123456789012:job-definition/${input.jobDefinitionName}:${revision}`
    this.definitions.set(arn, {...structuredClone(input), jobDefinitionArn: arn, revision, status: 'ACTIVE'} as JobDefinition)
    return {jobDefinitionArn: arn, jobDefinitionName: input.jobDefinitionName, revision}
  }

  /** SubmitJob jobDefinition: "name:revision", "arn:…:name:revision" or "name" (the latest ACTIVE revision). */
  private findDefinition(ref: string): JobDefinition | undefined {
    const byArn = this.definitions.get(ref)
    if (byArn) return byArn.status === 'ACTIVE' ? byArn : undefined
    const [name, revision] = ref.split('/').pop()!.split(':')
    const candidates = [...this.definitions.values()].filter((d) => d.jobDefinitionName === name && d.status === 'ACTIVE' && (revision === undefined || String(d.revision) === revision))
    return candidates.sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0))[0]
  }

  submitJob(input: SubmitJobCommandInput) {
    this.calls.SubmitJob.push(input)
    try {
      if (!input.jobQueue || !input.jobDefinition || !input.jobName) throw new ClientException('jobName, jobQueue and jobDefinition are required')
      const queues = this.options.queues
      if (queues ? !queues.includes(input.jobQueue) : !/rfm/.test(input.jobQueue)) throw new ClientException(`Job Queue ${input.jobQueue} does not exist`)
      const definition = this.findDefinition(input.jobDefinition)
      if (!definition) throw new ClientException(`Job Definition ${input.jobDefinition} does not exist or is not ACTIVE`)
      validateSubmitJob(input, definition)
      return this.accept(input, definition)
    } catch (error) {
      this.refused.push({input, message: (error as Error).message})
      throw error
    }
  }

  private accept(input: SubmitJobCommandInput, definition: JobDefinition) {
    const jobId = randomUuid()
    const effective = effectiveJob(input, definition)
    const job: FakeJob = {jobId, input, definition, effective, status: 'SUBMITTED', createdAt: Date.now(), attempts: []}
    this.jobs.set(jobId, job)
    const size = input.arrayProperties?.size
    if (size) {
      job.children = Array.from({length: size}, (_, index) => {
        const child: FakeJob = {jobId: `${jobId}:${index}`, input, definition, effective, status: 'SUBMITTED', createdAt: job.createdAt, attempts: [], arrayIndex: index, parent: job}
        this.jobs.set(child.jobId, child)
        return child
      })
      this.later(() => {
        job.status = 'PENDING'
        for (const child of job.children ?? []) this.advance(child)
      })
    } else {
      this.advance(job)
    }
    const region = definition.jobDefinitionArn?.split(':')[3] ?? 'us-east-1'
    return {jobId, jobName: input.jobName, jobArn: `arn:aws:batch:${region}:123456789012:job/${jobId}`}
  }

  /** DescribeJobQueues: the stack's queues, ENABLED and VALID (a created queue's state). */
  describeJobQueues(input: {jobQueues?: string[]}) {
    const queues = this.options.stack
      ? [...this.options.stack.queues.values()]
      : // Without a stack, the queues SubmitJob accepts (any name containing "rfm").
        (input.jobQueues ?? []).filter((q) => (this.options.queues ? this.options.queues.includes(q) : /rfm/.test(q))).map((arn) => ({name: arn.split('/').pop()!, arn, computeEnvironments: []}))
    return {
      jobQueues: queues
        .filter((q) => !input.jobQueues || input.jobQueues.includes(q.arn) || input.jobQueues.includes(q.name))
        .map((q) => ({
          jobQueueName: q.name,
          jobQueueArn: q.arn,
          state: 'ENABLED',
          status: 'VALID',
          priority: 10,
          computeEnvironmentOrder: q.computeEnvironments.map((ce, i) => ({order: i + 1, computeEnvironment: ce})),
        })),
    }
  }

  /** DescribeComputeEnvironments: the stack's environments, ENABLED and VALID. */
  describeComputeEnvironments(input: {computeEnvironments?: string[]}) {
    const environments = this.options.stack?.computeEnvironments ?? []
    return {
      computeEnvironments: environments
        .filter((ce) => !input.computeEnvironments || input.computeEnvironments.includes(ce.arn) || input.computeEnvironments.includes(ce.name))
        .map((ce) => ({
          computeEnvironmentName: ce.name,
          computeEnvironmentArn: ce.arn,
          type: 'MANAGED',
          state: 'ENABLED',
          status: 'VALID',
          computeResources: {type: ce.type, instanceTypes: ce.instanceTypes, maxvCpus: ce.maxvCpus, minvCpus: 0, subnets: ce.subnets},
        })),
    }
  }

  describeJobs(input: {jobs?: string[]}) {
    this.calls.DescribeJobs.push(input)
    return {jobs: (input.jobs ?? []).flatMap((id) => (this.jobs.has(id) ? [this.detail(this.jobs.get(id)!)] : []))}
  }

  cancelJob(input: {jobId?: string; reason?: string}) {
    this.calls.CancelJob.push(input)
    const job = this.job(input.jobId ?? '')
    // Batch cancels only jobs that have not started.
    for (const j of job.children ?? [job]) {
      if (j.status === 'SUBMITTED' || j.status === 'PENDING' || j.status === 'RUNNABLE') this.finish(j, 'FAILED', input.reason)
    }
    this.settleParent(job)
    return {}
  }

  terminateJob(input: {jobId?: string; reason?: string}) {
    this.calls.TerminateJob.push(input)
    const job = this.job(input.jobId ?? '')
    for (const j of job.children ?? [job]) {
      if (!ACTIVE.includes(j.status)) continue
      j.terminated = input.reason ?? 'Terminated'
      if (j.current) {
        j.current.stopReason = j.terminated
        this.stopContainer(j.current)
      } else this.finish(j, 'FAILED', j.terminated)
    }
    this.settleParent(job)
    return {}
  }

  listJobs(input: {jobQueue?: string; jobStatus?: string; arrayJobId?: string}) {
    this.calls.ListJobs.push(input)
    const status = input.jobStatus ?? 'RUNNING'
    const candidates = input.arrayJobId ? (this.job(input.arrayJobId).children ?? []) : [...this.jobs.values()].filter((j) => !j.parent && j.input.jobQueue === input.jobQueue)
    return {
      jobSummaryList: candidates
        .filter((j) => j.status === status)
        .map((j) => ({jobId: j.jobId, jobName: j.input.jobName, status: j.status, createdAt: j.createdAt, ...(j.arrayIndex !== undefined ? {arrayProperties: {index: j.arrayIndex}} : {})})),
    }
  }

  getLogEvents(input: {logGroupName?: string; logStreamName?: string; nextToken?: string}) {
    this.calls.GetLogEvents.push(input)
    const events = this.streams.get(input.logStreamName ?? '')
    if (!events) throw Object.assign(new Error('The specified log stream does not exist.'), {name: 'ResourceNotFoundException'})
    const from = input.nextToken ? Number(input.nextToken.slice(2)) : 0
    // Pages of at most 50 events, as CloudWatch pages by size.
    const page = events.slice(from, from + 50)
    return {events: page, nextForwardToken: `f/${from + page.length}`, nextBackwardToken: 'b/0'}
  }

  // --- the state machine ---

  private later(step: () => void, ms = 5): void {
    setTimeout(step, ms).unref()
  }

  private advance(job: FakeJob): void {
    this.later(() => {
      if (job.status !== 'SUBMITTED') return
      job.status = 'PENDING'
      this.later(() => {
        if (job.status !== 'PENDING') return
        job.status = 'RUNNABLE'
        if (!this.hold) this.later(() => this.place(job))
      })
    })
  }

  /** Capacity found: the attempt starts on a host (unless the queue can never place it). */
  private place(job: FakeJob): void {
    if (job.status !== 'RUNNABLE') return
    const blocked = this.blockedReason(job)
    if (blocked) {
      job.statusReason = blocked
      return
    }
    job.status = 'STARTING'
    if (!this.options.holdStarting) this.later(() => this.runAttempt(job))
  }

  /**
   * A job that no compute environment of its queue can hold stays RUNNABLE for good, with the
   * blocked-queue reason in statusReason (AWS Batch user guide, "Jobs stuck in a RUNNABLE status";
   * JobStateTimeLimitActionsReason COMPUTE_ENVIRONMENT_MAX_RESOURCE: "All compute environments have a
   * maxvCpus parameter that is smaller than the job requirements"). Only the reason code is AWS's;
   * the words after it are the emulator's. Checked only where the stack is known.
   */
  private blockedReason(job: FakeJob): string | undefined {
    const stack = this.options.stack
    const queue = stack && [...stack.queues.values()].find((q) => q.arn === job.input.jobQueue || q.name === job.input.jobQueue)
    if (!stack || !queue) return undefined
    const environments = stack.computeEnvironments.filter((ce) => queue.computeEnvironments.includes(ce.arn) || queue.computeEnvironments.includes(ce.name))
    if (environments.length > 0 && environments.every((ce) => ce.maxvCpus < job.effective.vcpus))
      return `MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - the compute environments of the queue allow at most ${Math.max(...environments.map((ce) => ce.maxvCpus))} vCPUs; the job asks for ${job.effective.vcpus}.`
    return undefined
  }

  /** The container's environment: definition + overrides (effective), then what Batch adds. */
  private attemptEnv(job: FakeJob, attempt: number, imdsEndpoint: string): Record<string, string> {
    const routes: Record<string, string> = {'http://169.254.169.254': imdsEndpoint, ...this.options.container?.routes}
    const route = (value: string) => Object.entries(routes).reduce((v, [from, to]) => (v.startsWith(from) ? to + v.slice(from.length) : v), value)
    const env: Record<string, string> = {}
    for (const [name, value] of job.effective.environment) env[name] = route(value)
    // "AWS Batch sets ... AWS_BATCH_JOB_ID, AWS_BATCH_JOB_ATTEMPT, AWS_BATCH_CE_NAME, AWS_BATCH_JQ_NAME,
    // AWS_BATCH_JOB_ARRAY_INDEX" (user guide, "Reserved runtime environment variables").
    Object.assign(env, {
      AWS_BATCH_JOB_ID: job.jobId,
      AWS_BATCH_JOB_ATTEMPT: String(attempt),
      AWS_BATCH_CE_NAME: 'rfm-spot',
      AWS_BATCH_JQ_NAME: job.input.jobQueue ?? '',
      ...(job.arrayIndex !== undefined ? {AWS_BATCH_JOB_ARRAY_INDEX: String(job.arrayIndex), AWS_BATCH_JOB_ARRAY_SIZE: String(job.parent?.children?.length)} : {}),
    })
    if (this.options.container) {
      // The job role's credentials (ECS serves them to the SDK's container credential provider).
      env.AWS_ACCESS_KEY_ID = this.options.container.credentials.accessKeyId
      env.AWS_SECRET_ACCESS_KEY = this.options.container.credentials.secretAccessKey
      env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
    }
    // Test knob, not set by Batch: the runtime polls IMDS every 5 s on AWS; scaled down here.
    return {...env, RFM_SPOT_POLL_MS: String(Math.max(20, Math.round(this.secondsMs * 2))), ...this.options.env}
  }

  private runAttempt(job: FakeJob): void {
    if (job.status !== 'STARTING') return
    const attempt = job.attempts.length + 1
    const hosts = this.options.hosts ?? [{instanceType: 'g5.xlarge', availabilityZone: 'us-east-1a', lifecycle: 'spot'}]
    const host = hosts[this.attemptsStarted++ % hosts.length]
    const instanceId = `i-${randomBytes(9).toString('hex').slice(0, 17)}`
    const key = `${job.jobId.replace(':', '-')}-${attempt}`
    this.imds.hosts.set(key, {...host, instanceId})
    const env = this.attemptEnv(job, attempt, this.imds.endpointFor(key))
    const definitionName = job.definition.jobDefinitionName ?? 'job'
    const logStream = `${definitionName}/default/${randomBytes(16).toString('hex')}`
    const events: LogEvent[] = []
    this.streams.set(logStream, events)
    let current: Current
    let child: ChildProcess
    let dispose: (() => void) | undefined
    const image = job.definition.containerProperties?.image ?? job.definition.nodeProperties?.nodeRangeProperties?.[0]?.container?.image ?? ''
    if (this.options.container?.registry && !this.options.container.registry.has(image)) {
      // ECS cannot pull the image: the task never starts and the attempt fails with this reason,
      // straight from STARTING. It never reached RUNNING, so neither the job nor the attempt has a
      // startedAt (AttemptDetail.startedAt: "when the attempt transitioned from the STARTING state to
      // the RUNNING state"; the same for JobDetail.startedAt).
      job.current = {
        child: undefined as unknown as ChildProcess,
        logStream,
        host,
        instanceId,
        key,
        timers: [],
        stopReason: `CannotPullContainerError: Error response from daemon: manifest for ${image} not found: manifest unknown: Requested image not found`,
      }
      this.later(() => this.attemptEnded(job, undefined))
      return
    }
    if (this.options.container) {
      const started = startContainer({
        image: this.options.container.image,
        env,
        memoryMiB: job.effective.memoryMiB,
        onOutOfMemory: () => {
          current.reason = OOM_REASON
          if (child.pid) killGroup(child.pid, 'SIGKILL')
        },
      })
      child = started.child
      dispose = started.dispose
    } else {
      const hostEnv: NodeJS.ProcessEnv = {...process.env, ...env}
      delete hostEnv.RFM_ATTEMPT
      child = spawn(process.execPath, [this.options.runtime], {detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: hostEnv})
    }
    const collect = lineCollector((line) => events.push({timestamp: Date.now(), message: line}))
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    current = {child, startedAt: Date.now(), logStream, host, instanceId, key, timers: [], dispose}
    job.current = current
    job.startedAt = current.startedAt
    job.status = 'RUNNING'
    if (job.parent && job.parent.status === 'PENDING') job.parent.status = 'RUNNING'
    const timeout = job.effective.attemptDurationSeconds
    if (timeout) {
      current.timers.push(
        setTimeout(() => {
          current.timedOut = true
          current.stopReason = TIMEOUT_REASON
          this.stopContainer(current)
        }, timeout * this.secondsMs),
      )
    }
    child.once('exit', (code, signal) => {
      if (child.pid) killGroup(child.pid, 'SIGKILL')
      child.once('close', () => {
        collect.flush()
        this.attemptEnded(job, code ?? 128 + (constants.signals[signal as NodeJS.Signals] ?? 0))
      })
    })
    this.onAttemptStart?.(job, attempt)
  }

  private attemptEnded(job: FakeJob, exitCode: number | undefined): void {
    const current = job.current!
    for (const timer of current.timers) clearTimeout(timer)
    current.dispose?.()
    job.current = undefined
    const stoppedAt = Date.now()
    const statusReason = current.stopReason ?? 'Essential container in task exited'
    job.attempts.push({
      container: {
        ...(exitCode !== undefined ? {exitCode} : {}),
        ...(current.reason ? {reason: current.reason} : {}),
        logStreamName: current.logStream,
        taskArn: `arn:aws:ecs:us-east-1:123456789012:task/rfm/${randomBytes(16).toString('hex')}`,
        containerInstanceArn: `arn:aws:ecs:us-east-1:123456789012:container-instance/rfm/${current.instanceId}`,
      },
      ...(current.startedAt !== undefined ? {startedAt: current.startedAt} : {}),
      stoppedAt,
      statusReason,
    })
    job.stoppedAt = stoppedAt
    if (exitCode === 0 && !current.timedOut) return this.finish(job, 'SUCCEEDED', statusReason)
    // "Jobs that are canceled or terminated are not retried" (user guide, "Automated job retries").
    if (job.terminated) return this.finish(job, 'FAILED', job.terminated)
    // SubmitJob timeout: "If a job is terminated due to a timeout, it isn't retried."
    if (current.timedOut) return this.finish(job, 'FAILED', statusReason)
    const decision = retryDecision(job.effective.retryStrategy, job.attempts.length, {exitCode, statusReason, reason: current.reason})
    if (decision === 'RETRY') {
      job.status = 'RUNNABLE'
      if (!this.hold) this.later(() => this.place(job))
      return
    }
    this.finish(job, 'FAILED', statusReason)
  }

  private finish(job: FakeJob, status: 'SUCCEEDED' | 'FAILED', reason?: string): void {
    job.status = status
    job.statusReason = reason
    job.stoppedAt ??= Date.now()
    if (job.parent) this.settleParent(job.parent)
  }

  private settleParent(parent: FakeJob): void {
    const children = parent.children
    if (!children || children.some((c) => ACTIVE.includes(c.status))) return
    parent.status = children.every((c) => c.status === 'SUCCEEDED') ? 'SUCCEEDED' : 'FAILED'
    parent.statusReason = parent.status === 'SUCCEEDED' ? 'All child jobs succeeded' : 'A child job failed'
    parent.stoppedAt = Date.now()
  }

  /** ECS StopTask: SIGTERM to the container's init (which forwards it), SIGKILL after the stop timeout. */
  private stopContainer(current: Current): void {
    const pid = current.child.pid
    if (!pid) return
    try {
      process.kill(pid, 'SIGTERM')
    } catch {}
    current.timers.push(setTimeout(() => killGroup(pid, 'SIGKILL'), this.options.graceMs ?? 5000))
  }

  private detail(job: FakeJob): JobDetail {
    return jobDetail(job)
  }
}

export const JOB_DEFINITION = 'arn:aws:batch:us-east-1:123456789012:job-definition/rfm-command:3'
export const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/rfm:command-0123abcd'
