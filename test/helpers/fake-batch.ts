/**
 * A stateful fake of AWS Batch (and the CloudWatch Logs of its jobs) for tests, wired behind
 * aws-sdk-client-mock. Each job walks SUBMITTED → PENDING → RUNNABLE → STARTING → RUNNING →
 * SUCCEEDED/FAILED; each attempt runs the REAL rfm runtime as a process with the environment the
 * request's container overrides carry, plus what Batch adds (AWS_BATCH_JOB_ID, _ATTEMPT,
 * _ARRAY_INDEX). A test can reclaim an attempt as EC2 would reclaim a spot instance (SIGTERM, SIGKILL
 * after a grace, status reason "Host EC2 (instance i-…) terminated."); retries follow the
 * retryStrategy sent, with Batch's rules: every attempt counts, the first evaluateOnExit entry whose
 * conditions all match decides, no match retries, and patterns match exactly or by prefix with `*`.
 * A small HTTP server plays each attempt's instance metadata service (instance type, zone, spot).
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import * as http from 'node:http'
import type {AddressInfo} from 'node:net'
import * as os from 'node:os'
import {constants} from 'node:os'
import * as path from 'node:path'
import {pathToFileURL} from 'node:url'

import {
  BatchClient,
  CancelJobCommand,
  DescribeJobDefinitionsCommand,
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

import {BatchBackend} from '../../src/backends/aws-batch'
import type {Profile} from '../../src/config/profiles'
import {launchRun, type LaunchOptions} from '../../src/jobs/launch'
import {findKind, loadKinds} from '../../src/jobs/registry'
import {resolveJob} from '../../src/jobs/resolve'
import {FINAL_STATES, type RunRecord} from '../../src/runs/record'
import {RunStore} from '../../src/runs/run-store'
import {openStore} from '../../src/store/open'
import {ROOT} from './cli'

export interface FakeHost {
  instanceType: string
  availabilityZone: string
  lifecycle: 'spot' | 'on-demand'
}

export interface FakeBatchOptions {
  /** the runtime entry point (dist/src/runtime/main.js) */
  runtime: string
  /** extra environment for every attempt (test knobs such as RFM_CHECKPOINT_POLL_MS) */
  env?: Record<string, string>
  /** hosts the attempts land on, in turn */
  hosts?: FakeHost[]
  /** time between SIGTERM and SIGKILL when a host goes away or a job is terminated */
  graceMs?: number
  /** keep new jobs RUNNABLE (no capacity) until release() */
  hold?: boolean
  /** job definitions Batch knows: ARN → image (default: the rfm-command definition with IMAGE) */
  definitions?: Record<string, string>
}

type Status = 'SUBMITTED' | 'PENDING' | 'RUNNABLE' | 'STARTING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED'

interface FakeJob {
  jobId: string
  input: SubmitJobCommandInput
  status: Status
  statusReason?: string
  createdAt: number
  startedAt?: number
  stoppedAt?: number
  attempts: AttemptDetail[]
  current?: {child: ChildProcess; startedAt: number; logStream: string; host: FakeHost; instanceId: string; stopReason?: string; reclaimed?: boolean; killTimer?: NodeJS.Timeout}
  arrayIndex?: number
  parent?: FakeJob
  children?: FakeJob[]
  terminated?: string
}

interface LogEvent {
  timestamp: number
  message: string
}

const ACTIVE: Status[] = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING']

/** Batch's pattern match: exact, or a prefix when the pattern ends with `*`. */
export function batchGlob(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern
}

export class FakeBatch {
  readonly jobs = new Map<string, FakeJob>()
  readonly streams = new Map<string, LogEvent[]>()
  /** every request received, by operation, in order */
  readonly definitions = new Map<string, JobDefinition>()
  readonly calls: Record<'SubmitJob' | 'DescribeJobs' | 'CancelJob' | 'TerminateJob' | 'ListJobs' | 'GetLogEvents' | 'RegisterJobDefinition', unknown[]> = {
    RegisterJobDefinition: [],
    SubmitJob: [],
    DescribeJobs: [],
    CancelJob: [],
    TerminateJob: [],
    ListJobs: [],
    GetLogEvents: [],
  }
  private batchMock: {restore(): void} | undefined
  private logsMock: {restore(): void} | undefined
  private imds: http.Server | undefined
  private httpServer: http.Server | undefined
  private imdsBase = ''
  private readonly hostsByKey = new Map<string, {host: FakeHost; instanceId: string}>()
  private attemptsStarted = 0
  private hold: boolean
  /** called when an attempt starts: lets a test schedule a reclaim */
  onAttemptStart?: (job: FakeJob, attempt: number) => void

  constructor(private readonly options: FakeBatchOptions) {
    this.hold = options.hold ?? false
  }

  async start(): Promise<this> {
    this.imds = http.createServer((req, res) => this.serveMetadata(req, res))
    await new Promise<void>((resolve) => this.imds!.listen(0, '127.0.0.1', resolve))
    this.imdsBase = `http://127.0.0.1:${(this.imds.address() as AddressInfo).port}`
    // Mocks are made here, not in the constructor, so a fake replacing a stopped one takes over.
    const batchMock = (this.batchMock = mockClient(BatchClient))
    const logsMock = (this.logsMock = mockClient(CloudWatchLogsClient))
    batchMock.on(SubmitJobCommand).callsFake((input) => this.submitJob(input))
    for (const [arn, image] of Object.entries(this.options.definitions ?? {[JOB_DEFINITION]: IMAGE})) {
      const [name, revision] = arn.split('/').pop()!.split(':')
      this.definitions.set(arn, {jobDefinitionArn: arn, jobDefinitionName: name, revision: Number(revision), type: 'container', status: 'ACTIVE', containerProperties: {image, command: ['node', 'dist/src/runtime/main.js']}, retryStrategy: {attempts: 5}, propagateTags: true})
    }
    batchMock.on(DescribeJobDefinitionsCommand).callsFake((input) => this.describeJobDefinitions(input))
    batchMock.on(RegisterJobDefinitionCommand).callsFake((input) => this.registerJobDefinition(input))
    batchMock.on(DescribeJobsCommand).callsFake((input) => this.describeJobs(input))
    batchMock.on(CancelJobCommand).callsFake((input) => this.cancelJob(input))
    batchMock.on(TerminateJobCommand).callsFake((input) => this.terminateJob(input))
    batchMock.on(ListJobsCommand).callsFake((input) => this.listJobs(input))
    logsMock.on(GetLogEventsCommand).callsFake((input) => this.getLogEvents(input))
    return this
  }

  async stop(): Promise<void> {
    for (const job of this.jobs.values()) {
      if (job.current?.child.pid) killGroup(job.current.child.pid, 'SIGKILL')
      clearTimeout(job.current?.killTimer)
    }
    this.batchMock?.restore()
    this.logsMock?.restore()
    await new Promise<void>((resolve) => (this.imds ? this.imds.close(() => resolve()) : resolve()))
    this.httpServer?.closeAllConnections()
    await new Promise<void>((resolve) => (this.httpServer ? this.httpServer.close(() => resolve()) : resolve()))
  }

  /** Capacity arrives: held RUNNABLE jobs start. */
  release(): void {
    this.hold = false
    for (const job of this.jobs.values()) if (job.status === 'RUNNABLE' && !job.children) this.later(() => this.place(job))
  }

  job(jobId: string): FakeJob {
    const job = this.jobs.get(jobId)
    if (!job) throw new Error(`fake batch: no job ${jobId}`)
    return job
  }

  /**
   * EC2 reclaims the host of the job's running attempt: ECS stops the container (SIGTERM, SIGKILL
   * after the grace) and the attempt ends with status reason "Host EC2 (instance …) terminated.".
   * With graceful false the host vanishes at once (SIGKILL).
   */
  reclaim(jobId: string, {graceful = true, attempt}: {graceful?: boolean; attempt?: number} = {}): boolean {
    const job = this.job(jobId)
    const current = job.current
    if (!current?.child.pid || current.reclaimed) return false
    // Only the attempt the caller meant (a late timer must not hit its successor).
    if (attempt !== undefined && job.attempts.length + 1 !== attempt) return false
    current.reclaimed = true
    current.stopReason = `Host EC2 (instance ${current.instanceId}) terminated.`
    this.stopContainer(current, graceful)
    return true
  }

  /**
   * The same fake over HTTP, for a CLI running in another process: point the SDK at it with
   * AWS_ENDPOINT_URL_BATCH / _CLOUDWATCH_LOGS / _EC2. Batch speaks REST-JSON (POST /v1/<op>),
   * CloudWatch Logs JSON 1.1 (X-Amz-Target), EC2 the query protocol (only DescribeSpotPriceHistory,
   * answered from `spotPrices`).
   */
  async serveHttp(spotPrices: Record<string, number> = {}): Promise<string> {
    const server = http.createServer((req, res) => {
      let body = ''
      req.setEncoding('utf8')
      req.on('data', (chunk: string) => (body += chunk))
      req.on('end', () => {
        const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
          res.writeHead(status, {'content-type': 'application/json', ...headers})
          res.end(typeof payload === 'string' ? payload : JSON.stringify(payload))
        }
        // Requests signed with the access key EXPIRED play an expired session.
        if ((req.headers.authorization ?? '').includes('Credential=EXPIRED/')) {
          if (req.headers['x-amz-target']) return reply(400, {__type: 'ExpiredTokenException', message: 'The security token included in the request is expired'})
          return reply(403, {message: 'The security token included in the request is expired'}, {'x-amzn-errortype': 'ExpiredTokenException'})
        }
        try {
          const target = req.headers['x-amz-target']
          if (typeof target === 'string' && target.endsWith('.GetLogEvents')) return reply(200, this.getLogEvents(JSON.parse(body)))
          if (req.url?.startsWith('/v1/')) {
            const operations: Record<string, (input: any) => unknown> = {
              submitjob: (i) => this.submitJob(i),
              describejobs: (i) => this.describeJobs(i),
              canceljob: (i) => this.cancelJob(i),
              terminatejob: (i) => this.terminateJob(i),
              listjobs: (i) => this.listJobs(i),
              describejobdefinitions: (i) => this.describeJobDefinitions(i),
              registerjobdefinition: (i) => this.registerJobDefinition(i),
            }
            const operation = operations[req.url.slice(4)]
            if (!operation) return reply(404, {message: `fake batch: no ${req.url}`}, {'x-amzn-errortype': 'ClientException'})
            return reply(200, operation(JSON.parse(body || '{}')))
          }
          const form = new URLSearchParams(body)
          if (form.get('Action') === 'DescribeSpotPriceHistory') {
            const zone = form.get('AvailabilityZone') ?? ''
            const type = form.get('InstanceType.1') ?? ''
            const at = new Date(Date.parse(form.get('StartTime') ?? new Date().toISOString()) - 3_600_000).toISOString()
            const item = spotPrices[zone] === undefined ? '' : `<item><instanceType>${type}</instanceType><productDescription>Linux/UNIX</productDescription><spotPrice>${spotPrices[zone]}</spotPrice><timestamp>${at}</timestamp><availabilityZone>${zone}</availabilityZone></item>`
            res.writeHead(200, {'content-type': 'text/xml'})
            return res.end(`<DescribeSpotPriceHistoryResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>fake</requestId><spotPriceHistorySet>${item}</spotPriceHistorySet><nextToken></nextToken></DescribeSpotPriceHistoryResponse>`)
          }
          reply(400, {message: 'fake batch: unknown request'})
        } catch (error) {
          const e = error as Error
          if (req.headers['x-amz-target']) return reply(400, {__type: e.name, message: e.message}, {'content-type': 'application/x-amz-json-1.1'})
          reply(400, {message: e.message}, {'x-amzn-errortype': e.name})
        }
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    this.httpServer = server
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  // --- Batch API ---

  private describeJobDefinitions(input: {jobDefinitions?: string[]; jobDefinitionName?: string; status?: string}) {
    return {
      jobDefinitions: [...this.definitions.values()].filter((d) => (input.jobDefinitions ? input.jobDefinitions.includes(d.jobDefinitionArn!) : d.jobDefinitionName === input.jobDefinitionName)).map((d) => structuredClone(d)),
    }
  }

  private registerJobDefinition(input: RegisterJobDefinitionCommandInput) {
    this.calls.RegisterJobDefinition.push(input)
    const revision = Math.max(0, ...[...this.definitions.values()].filter((d) => d.jobDefinitionName === input.jobDefinitionName).map((d) => d.revision ?? 0)) + 1
    const arn = `arn:aws:batch:us-east-1:123456789012:job-definition/${input.jobDefinitionName}:${revision}`
    this.definitions.set(arn, {...structuredClone(input), jobDefinitionArn: arn, revision, status: 'ACTIVE'} as JobDefinition)
    return {jobDefinitionArn: arn, jobDefinitionName: input.jobDefinitionName, revision}
  }

  private submitJob(input: SubmitJobCommandInput) {
    this.calls.SubmitJob.push(input)
    if (!input.jobQueue || !input.jobDefinition || !input.jobName) throw Object.assign(new Error('jobName, jobQueue and jobDefinition are required'), {name: 'ClientException'})
    if (!/rfm/.test(input.jobQueue)) throw Object.assign(new Error(`Job Queue ${input.jobQueue} does not exist`), {name: 'ClientException'})
    const jobId = randomUuid()
    const job: FakeJob = {jobId, input, status: 'SUBMITTED', createdAt: Date.now(), attempts: []}
    this.jobs.set(jobId, job)
    const size = input.arrayProperties?.size
    if (size) {
      job.children = Array.from({length: size}, (_, index) => {
        const child: FakeJob = {jobId: `${jobId}:${index}`, input, status: 'SUBMITTED', createdAt: job.createdAt, attempts: [], arrayIndex: index, parent: job}
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
    return {jobId, jobName: input.jobName, jobArn: `arn:aws:batch:us-east-1:123456789012:job/${jobId}`}
  }

  private describeJobs(input: {jobs?: string[]}) {
    this.calls.DescribeJobs.push(input)
    return {jobs: (input.jobs ?? []).flatMap((id) => (this.jobs.has(id) ? [this.detail(this.jobs.get(id)!)] : []))}
  }

  private cancelJob(input: {jobId?: string; reason?: string}) {
    this.calls.CancelJob.push(input)
    const job = this.job(input.jobId ?? '')
    // Batch cancels only jobs that have not started.
    for (const j of job.children ?? [job]) {
      if (j.status === 'SUBMITTED' || j.status === 'PENDING' || j.status === 'RUNNABLE') this.finish(j, 'FAILED', input.reason)
    }
    this.settleParent(job)
    return {}
  }

  private terminateJob(input: {jobId?: string; reason?: string}) {
    this.calls.TerminateJob.push(input)
    const job = this.job(input.jobId ?? '')
    for (const j of job.children ?? [job]) {
      if (!ACTIVE.includes(j.status)) continue
      j.terminated = input.reason ?? 'Terminated'
      if (j.current) {
        j.current.stopReason = j.terminated
        this.stopContainer(j.current, true)
      } else this.finish(j, 'FAILED', j.terminated)
    }
    this.settleParent(job)
    return {}
  }

  private listJobs(input: {jobQueue?: string; jobStatus?: string; arrayJobId?: string}) {
    this.calls.ListJobs.push(input)
    const status = input.jobStatus ?? 'RUNNING'
    const candidates = input.arrayJobId ? (this.job(input.arrayJobId).children ?? []) : [...this.jobs.values()].filter((j) => !j.parent && j.input.jobQueue === input.jobQueue)
    return {
      jobSummaryList: candidates
        .filter((j) => j.status === status)
        .map((j) => ({jobId: j.jobId, jobName: j.input.jobName, status: j.status, createdAt: j.createdAt, ...(j.arrayIndex !== undefined ? {arrayProperties: {index: j.arrayIndex}} : {})})),
    }
  }

  private getLogEvents(input: {logGroupName?: string; logStreamName?: string; nextToken?: string}) {
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

  /** Capacity found: the attempt starts on a host. */
  private place(job: FakeJob): void {
    if (job.status !== 'RUNNABLE') return
    job.status = 'STARTING'
    this.later(() => this.runAttempt(job))
  }

  private runAttempt(job: FakeJob): void {
    if (job.status !== 'STARTING') return
    const attempt = job.attempts.length + 1
    const hosts = this.options.hosts ?? [{instanceType: 'g5.xlarge', availabilityZone: 'us-east-1a', lifecycle: 'spot'}]
    const host = hosts[this.attemptsStarted++ % hosts.length]
    const instanceId = `i-${randomBytes(8).toString('hex').slice(0, 17)}`
    const key = `${job.jobId.replace(':', '-')}-${attempt}`
    this.hostsByKey.set(key, {host, instanceId})
    const overrides = job.input.containerOverrides ?? job.input.nodeOverrides?.nodePropertyOverrides?.[0]?.containerOverrides
    const fromRequest = Object.fromEntries((overrides?.environment ?? []).map((e) => [e.name ?? '', e.value ?? '']))
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...this.options.env,
      ...fromRequest,
      AWS_BATCH_JOB_ID: job.jobId,
      AWS_BATCH_JOB_ATTEMPT: String(attempt),
      AWS_BATCH_CE_NAME: 'rfm-spot',
      AWS_BATCH_JQ_NAME: job.input.jobQueue ?? '',
      // The host's metadata service, as 169.254.169.254 is on EC2.
      RFM_SPOT_ENDPOINT: `${this.imdsBase}/${key}`,
      RFM_PROCESS_GROUP_LEADER: '1',
      ...(job.arrayIndex !== undefined ? {AWS_BATCH_JOB_ARRAY_INDEX: String(job.arrayIndex), AWS_BATCH_JOB_ARRAY_SIZE: String(job.parent?.children?.length)} : {}),
    }
    delete env.RFM_ATTEMPT
    const definition = (job.input.jobDefinition ?? '').split('/').pop()?.split(':')[0] ?? 'job'
    const logStream = `${definition}/default/${randomBytes(16).toString('hex')}`
    const events: LogEvent[] = []
    this.streams.set(logStream, events)
    const child = spawn(process.execPath, [this.options.runtime], {detached: true, stdio: ['ignore', 'pipe', 'pipe'], env})
    const collect = lineCollector((line) => events.push({timestamp: Date.now(), message: line}))
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    job.current = {child, startedAt: Date.now(), logStream, host, instanceId}
    job.startedAt = job.current.startedAt
    job.status = 'RUNNING'
    if (job.parent && job.parent.status === 'PENDING') job.parent.status = 'RUNNING'
    child.once('exit', (code, signal) => {
      if (child.pid) killGroup(child.pid, 'SIGKILL')
      child.once('close', () => {
        collect.flush()
        this.attemptEnded(job, code ?? 128 + (constants.signals[signal as NodeJS.Signals] ?? 0))
      })
    })
    this.onAttemptStart?.(job, attempt)
  }

  private attemptEnded(job: FakeJob, exitCode: number): void {
    const current = job.current!
    clearTimeout(current.killTimer)
    job.current = undefined
    const stoppedAt = Date.now()
    const statusReason = current.stopReason ?? 'Essential container in task exited'
    job.attempts.push({
      container: {
        exitCode,
        logStreamName: current.logStream,
        taskArn: `arn:aws:ecs:us-east-1:123456789012:task/rfm/${randomBytes(16).toString('hex')}`,
        containerInstanceArn: `arn:aws:ecs:us-east-1:123456789012:container-instance/rfm/${current.instanceId}`,
      },
      startedAt: current.startedAt,
      stoppedAt,
      statusReason,
    })
    job.stoppedAt = stoppedAt
    if (exitCode === 0) return this.finish(job, 'SUCCEEDED', statusReason)
    if (job.terminated) return this.finish(job, 'FAILED', job.terminated)
    const strategy = job.input.retryStrategy
    const rule = (strategy?.evaluateOnExit ?? []).find(
      (r) =>
        (r.onStatusReason === undefined || batchGlob(r.onStatusReason, statusReason)) &&
        (r.onReason === undefined || batchGlob(r.onReason, undefined)) &&
        (r.onExitCode === undefined || batchGlob(r.onExitCode, String(exitCode))),
    )
    const action = rule?.action?.toUpperCase() ?? 'RETRY'
    if (action === 'RETRY' && job.attempts.length < (strategy?.attempts ?? 1)) {
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

  private stopContainer(current: NonNullable<FakeJob['current']>, graceful: boolean): void {
    const pid = current.child.pid
    if (!pid) return
    if (!graceful) return killGroup(pid, 'SIGKILL')
    try {
      process.kill(pid, 'SIGTERM')
    } catch {}
    current.killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), this.options.graceMs ?? 5000)
  }

  private detail(job: FakeJob): JobDetail {
    const summary: Record<string, number> = {}
    for (const c of job.children ?? []) summary[c.status] = (summary[c.status] ?? 0) + 1
    return {
      jobId: job.jobId,
      jobName: job.input.jobName,
      jobArn: `arn:aws:batch:us-east-1:123456789012:job/${job.jobId}`,
      jobQueue: job.input.jobQueue,
      jobDefinition: job.input.jobDefinition,
      status: job.status,
      ...(job.statusReason ? {statusReason: job.statusReason} : {}),
      createdAt: job.createdAt,
      ...(job.startedAt ? {startedAt: job.startedAt} : {}),
      ...(job.stoppedAt && !ACTIVE.includes(job.status) ? {stoppedAt: job.stoppedAt} : {}),
      attempts: structuredClone(job.attempts),
      retryStrategy: job.input.retryStrategy,
      ...(job.input.timeout ? {timeout: job.input.timeout} : {}),
      tags: job.input.tags,
      container: job.current ? {logStreamName: job.current.logStream} : {},
      ...(job.children ? {arrayProperties: {size: job.children.length, statusSummary: summary}} : {}),
      ...(job.arrayIndex !== undefined ? {arrayProperties: {index: job.arrayIndex}} : {}),
      dependsOn: [],
      platformCapabilities: ['EC2'],
    } as JobDetail
  }

  private serveMetadata(req: http.IncomingMessage, res: http.ServerResponse): void {
    const [, key, ...rest] = (req.url ?? '').split('/')
    const path = '/' + rest.join('/')
    const found = this.hostsByKey.get(key)
    if (req.method === 'PUT' && path === '/latest/api/token') return void res.end('fake-imds-token')
    const answers: Record<string, string | undefined> = found
      ? {
          '/latest/meta-data/instance-type': found.host.instanceType,
          '/latest/meta-data/placement/availability-zone': found.host.availabilityZone,
          '/latest/meta-data/instance-life-cycle': found.host.lifecycle,
          '/latest/meta-data/instance-id': found.instanceId,
        }
      : {}
    const body = req.headers['x-aws-ec2-metadata-token'] === 'fake-imds-token' ? answers[path] : undefined
    if (body === undefined) {
      res.statusCode = 404
      return void res.end()
    }
    res.end(body)
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {}
}

function randomUuid(): string {
  const h = randomBytes(16).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** Splits a byte stream into lines (CloudWatch gets one event per line). */
function lineCollector(onLine: (line: string) => void): ((chunk: Buffer) => void) & {flush(): void} {
  let rest = ''
  const collect = (chunk: Buffer) => {
    const text = rest + chunk.toString('utf8')
    const lines = text.split('\n')
    rest = lines.pop() ?? ''
    for (const line of lines) onLine(line)
  }
  return Object.assign(collect, {
    flush: () => {
      if (rest) onLine(rest)
      rest = ''
    },
  })
}

// --- setup shared by the batch tests ---

export const RUNTIME = path.join(ROOT, 'dist', 'src', 'runtime', 'main.js')
export const QUEUES = {
  spot: 'arn:aws:batch:us-east-1:123456789012:job-queue/rfm-spot',
  onDemand: 'arn:aws:batch:us-east-1:123456789012:job-queue/rfm-on-demand',
  multiNode: 'arn:aws:batch:us-east-1:123456789012:job-queue/rfm-multi-node',
}
export const JOB_DEFINITION = 'arn:aws:batch:us-east-1:123456789012:job-definition/rfm-command:3'
export const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/rfm:command-0123abcd'

export interface BatchWorld {
  dir: string
  storeDir: string
  profile: Profile
  runs: RunStore
  backend: BatchBackend
  /** writes a job config file into the "laptop" folder (dir/laptop, the command's workdir) and returns its path */
  config(lines: string[]): string
  launch(configFile: string, options?: LaunchOptions, backend?: BatchBackend): Promise<RunRecord>
  /** refreshes the run from (fake) Batch until it ends */
  finish(run: RunRecord, timeoutMs?: number): Promise<RunRecord>
}

/**
 * A store (file:// by default, or an S3 bucket on s3rver), an aws-batch profile and a backend whose
 * image resolution is stubbed.
 */
export async function batchWorld(s3?: {endpoint: string; bucket: string}): Promise<BatchWorld> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-batch-'))
  // The catalog and profiles read RFM_HOME; keep them away from the user's.
  process.env.RFM_HOME ??= path.join(dir, 'home')
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
  const storeDir = path.join(dir, 'store')
  const profile: Profile = {
    backend: 'aws-batch',
    store: s3 ? `s3://${s3.bucket}/${path.basename(dir)}` : pathToFileURL(storeDir).href,
    ...(s3 ? {endpoint: s3.endpoint} : {}),
    region: 'us-east-1',
    queues: QUEUES,
    jobDefinitions: {command: JOB_DEFINITION},
    logGroup: '/rfm/jobs',
  }
  const runs = new RunStore(await openStore(profile.store, {endpoint: profile.endpoint, region: profile.region}))
  const backend = new BatchBackend({profile, resolveImage: async () => IMAGE, pollMs: 25, cancelWaitSeconds: 30})
  const kinds = await loadKinds([])
  let n = 0
  return {
    dir,
    storeDir,
    profile,
    runs,
    backend,
    config(lines) {
      // The "laptop" folder: the config's folder is the command's workdir, staged at launch.
      mkdirSync(path.join(dir, 'laptop'), {recursive: true})
      const file = path.join(dir, 'laptop', `job-${++n}.yaml`)
      writeFileSync(file, lines.join('\n') + '\n')
      return file
    },
    async launch(configFile, options = {}, other?: BatchBackend) {
      const job = await resolveJob(findKind(kinds, 'command'), {file: configFile})
      return launchRun(job, {profile: {name: 'batch', profile, defaults: []}, runs, backend: other ?? backend}, options)
    },
    async finish(run, timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs
      let latest = await runs.get(run.id)
      while (!FINAL_STATES.has(latest.state)) {
        if (Date.now() > deadline) throw new Error(`run ${run.id} did not finish (state ${latest.state}, batch ${String(latest.backend.status)})`)
        await new Promise((resolve) => setTimeout(resolve, 50))
        latest = await backend.refresh(latest, runs)
      }
      return latest
    },
  }
}
