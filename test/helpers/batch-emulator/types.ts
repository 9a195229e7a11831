/** The emulator's types and small helpers (batch.ts holds the state machine). */
import type {ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'

import type {AttemptDetail, JobDefinition, JobDetail, SubmitJobCommandInput} from '@aws-sdk/client-batch'

import type {ContainerImage} from './container'
import type {MockedStack} from './program'
import type {effectiveJob} from './rules'

export interface FakeHost {
  instanceType: string
  availabilityZone: string
  lifecycle: 'spot' | 'on-demand'
}

export interface ContainerWorld {
  image: ContainerImage
  /** the credentials ECS hands the job role's containers (here: what s3rver accepts) */
  credentials: {accessKeyId: string; secretAccessKey: string}
  /** the emulated network: a URL prefix the job uses → where it really goes (e.g. the S3 endpoint → the IAM proxy) */
  routes?: Record<string, string>
  /** the image registry: an attempt whose image was never pushed cannot start */
  registry?: {has(ref: string): boolean}
}

export interface FakeBatchOptions {
  /** the runtime entry point (dist/src/runtime/main.js), for attempts outside a container */
  runtime: string
  /** test knobs for every attempt (e.g. RFM_CHECKPOINT_POLL_MS); not something Batch sets */
  env?: Record<string, string>
  /** hosts the attempts land on, in turn */
  hosts?: FakeHost[]
  /** ECS stop timeout (SIGTERM → SIGKILL) on TerminateJob and timeouts, in real ms */
  graceMs?: number
  /** keep new jobs RUNNABLE (no capacity) until release() */
  hold?: boolean
  /**
   * Placed jobs stay in STARTING (the image pull) until `releaseStarting()`, with no startedAt. The
   * rule, from the AWS Batch API reference (JobDetail.startedAt): "when the job transitioned from the
   * STARTING state to the RUNNING state"; and the user guide's "Job states": in STARTING "the relevant
   * container initiation operations are underway. After the container image is pulled and the
   * container is up and running, the job" moves to RUNNING. No field dates the entry into STARTING.
   */
  holdStarting?: boolean
  /** legacy: job definition ARN → image (container definitions with 5 attempts) */
  definitions?: Record<string, string>
  /** the stack's job definitions (from program.ts) */
  jobDefinitions?: JobDefinition[]
  /** the stack's queue ARNs; default: any queue whose name contains "rfm" */
  queues?: string[]
  /** run attempts as containers */
  container?: ContainerWorld
  /** real milliseconds per emulated second (default 25: the spot notice's two minutes last 3 s) */
  secondsMs?: number
  /** the stack's queues and compute environments (DescribeJobQueues, DescribeComputeEnvironments) */
  stack?: Pick<MockedStack, 'queues' | 'computeEnvironments'>
}

export type Status = 'SUBMITTED' | 'PENDING' | 'RUNNABLE' | 'STARTING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED'

export interface Current {
  child: ChildProcess
  /** when the container started (absent when it never did: the image could not be pulled) */
  startedAt?: number
  logStream: string
  host: FakeHost
  instanceId: string
  key: string
  stopReason?: string
  /** AttemptContainerDetail.reason (e.g. the OOM kill) */
  reason?: string
  reclaimed?: boolean
  timedOut?: boolean
  timers: NodeJS.Timeout[]
  dispose?: () => void
}

export interface FakeJob {
  jobId: string
  input: SubmitJobCommandInput
  definition: JobDefinition
  effective: ReturnType<typeof effectiveJob>
  status: Status
  statusReason?: string
  createdAt: number
  startedAt?: number
  stoppedAt?: number
  attempts: AttemptDetail[]
  current?: Current
  arrayIndex?: number
  parent?: FakeJob
  children?: FakeJob[]
  terminated?: string
}

export interface LogEvent {
  timestamp: number
  message: string
}

export const ACTIVE: Status[] = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING']
/** AttemptContainerDetail.reason of an OOM kill, as Batch reports it. */
export const OOM_REASON = 'OutOfMemoryError: Container killed due to memory usage'
/** The job's statusReason when attemptDurationSeconds passes. */
export const TIMEOUT_REASON = 'Job attempt duration exceeded timeout'

/** DescribeJobs' view of a job. */
export function jobDetail(job: FakeJob): JobDetail {
  const summary: Record<string, number> = {}
  for (const c of job.children ?? []) summary[c.status] = (summary[c.status] ?? 0) + 1
  const resourceRequirements = [
    {type: 'VCPU', value: String(job.effective.vcpus)},
    ...(job.effective.memoryMiB !== undefined ? [{type: 'MEMORY', value: String(job.effective.memoryMiB)}] : []),
    ...(job.effective.gpus ? [{type: 'GPU', value: String(job.effective.gpus)}] : []),
  ]
  return {
    jobId: job.jobId,
    jobName: job.input.jobName,
    jobArn: `arn:aws:batch:us-east-1:123456789012:job/${job.jobId}`,
    jobQueue: job.input.jobQueue,
    jobDefinition: job.definition.jobDefinitionArn,
    status: job.status,
    ...(job.statusReason ? {statusReason: job.statusReason} : {}),
    createdAt: job.createdAt,
    ...(job.startedAt ? {startedAt: job.startedAt} : {}),
    ...(job.stoppedAt && !ACTIVE.includes(job.status) ? {stoppedAt: job.stoppedAt} : {}),
    attempts: structuredClone(job.attempts),
    ...(job.effective.retryStrategy ? {retryStrategy: job.effective.retryStrategy} : {}),
    ...(job.effective.attemptDurationSeconds ? {timeout: {attemptDurationSeconds: job.effective.attemptDurationSeconds}} : {}),
    tags: job.input.tags,
    container: {resourceRequirements, ...(job.current ? {logStreamName: job.current.logStream} : {})},
    ...(job.children ? {arrayProperties: {size: job.children.length, statusSummary: summary}} : {}),
    ...(job.arrayIndex !== undefined ? {arrayProperties: {index: job.arrayIndex}} : {}),
    dependsOn: [],
    platformCapabilities: ['EC2'],
  } as JobDetail
}

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {}
}

export function randomUuid(): string {
  const h = randomBytes(16).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** Splits a byte stream into lines (CloudWatch gets one event per line). */
export function lineCollector(onLine: (line: string) => void): ((chunk: Buffer) => void) & {flush(): void} {
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
