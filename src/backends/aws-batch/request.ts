/**
 * The SubmitJob request for a run: queue, job definition, container overrides (image, vCPUs,
 * memory, GPUs, environment), retry strategy, attempt timeout, tags, array shape. Multi-node
 * parallel jobs are not supported (no `type: multinode` job definitions exist).
 * Pure functions, so the request shape is tested exactly.
 */
import type {SubmitJobCommandInput} from '@aws-sdk/client-batch'

import type {Profile} from '../../config/profiles'
import {ConfigError, UsageError} from '../../errors'
import type {BatchRequest, RetryRule, RunRecord} from '../../runs/record'
import {BUILTIN_RETRY_RULES, DEFAULT_ATTEMPTS, DEFAULT_SPOT_ATTEMPTS, MAX_EVALUATE_ON_EXIT, RUNTIME_ENV} from '../../runtime/protocol'
import type {BackendOptions, BackendRequest, JobNeeds} from '../types'
/** Where the runtime reads instance metadata and the spot notice on an EC2 host. */
export const IMDS_ENDPOINT = 'http://169.254.169.254'

export type QueueChoice = 'spot' | 'on-demand'

/** What the launch asked of the backend, kept in run.backend.request. */
export type BatchRequestOptions = BatchRequest

/** The Batch part of a new run record: the launch's --queue/--array and the job's needs. */
export function batchRequestFor(job: JobNeeds, options: BackendOptions): BackendRequest {
  if (options.chaos) {
    throw new UsageError('--chaos works on the local backend only.', {hint: 'On AWS, spot capacity supplies the interruptions; use --profile with a local backend to test resume.'})
  }
  const resources = options.batch?.resources ?? job.resources
  const request: BatchRequest = {
    ...options.batch,
    queue: options.batch?.queue ?? 'spot',
    ...(resources ? {resources} : {}),
    ...(job.externalTrainer ? {externalTrainer: true} : {}),
  }
  // enough attempts on a spot queue to survive reclaims, else one
  return {record: {name: 'aws-batch', request}, defaultAttempts: request.queue === 'spot' ? DEFAULT_SPOT_ATTEMPTS : DEFAULT_ATTEMPTS}
}

/** What the user should know about a Batch run before it is submitted. */
export function batchLaunchWarnings(run: RunRecord): string[] {
  if (run.backend.name === 'aws-batch' && run.backend.request.queue === 'spot' && run.retries.attempts === 1) {
    return [
      'retries.attempts is 1 on the spot queue: the first spot reclaim fails the run (its checkpoints stay in the store, but nothing resumes them). Set retries.attempts to 3 or more, or leave it unset (default 5 on spot).',
    ]
  }
  return []
}

/** The request recorded at launch (none, as on a record of another backend: the spot queue). */
export function requestOptions(run: RunRecord): BatchRequest {
  const request = run.backend.name === 'aws-batch' ? run.backend.request : undefined
  return {...request, queue: request?.queue ?? 'spot'}
}

/** Refuses what Batch cannot run, before anything is submitted or recorded. */
export function checkRequest(options: BatchRequestOptions): void {
  if (options.arraySize !== undefined && (options.arraySize < 2 || options.arraySize > 10_000)) {
    throw new UsageError(`--array ${options.arraySize}: AWS Batch array jobs have 2 to 10000 children.`, {hint: 'Use --array N with 2 ≤ N ≤ 10000, or no --array for a single job.'})
  }
}

export function chooseQueue(profile: Profile, options: BatchRequestOptions): string {
  const queues = profile.queues
  if (!queues) {
    throw new ConfigError('The profile has no Batch job queues (queues).', {
      hint: 'Create the stack with rfm infra up (it writes them to the profile), or set them by hand: rfm config set queues \'{"spot":"ARN","onDemand":"ARN"}\'.',
    })
  }
  return options.queue === 'on-demand' ? queues.onDemand : queues.spot
}

export function chooseJobDefinition(profile: Profile, run: RunRecord, _options: BatchRequestOptions): string {
  const definitions = profile.jobDefinitions ?? {}
  const found = definitions[run.kind] ?? definitions.default
  if (!found) {
    throw new ConfigError(`The profile has no Batch job definition for job kind "${run.kind}" (jobDefinitions.${run.kind}) and no default.`, {
      hint: `rfm infra up creates one per registered kind plus default (run it again after installing a plugin); or set one by hand: rfm config set jobDefinitions '{"${run.kind}":"ARN"}'.`,
    })
  }
  return found
}

/** Matches Batch's onExitCode: digits, optionally ending in *. */
function batchExitCodePattern(rule: RetryRule): string | undefined {
  if (rule.on_signal) {
    // Batch sees a signalled container as 128 + the signal number.
    const numbers: Record<string, number> = {SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11, SIGABRT: 6}
    const n = numbers[rule.on_signal]
    if (n === undefined) throw new UsageError(`retries.evaluate_on_exit: on_signal ${rule.on_signal} has no AWS Batch equivalent.`, {hint: 'Use on_exit_code with 128 + the signal number.'})
    return String(128 + n)
  }
  return rule.on_exit_code
}

/**
 * The run's retries as a Batch retryStrategy: the protocol's built-in rules (a reclaimed host and
 * the runtime's exit 75 retry, exit 2 ends the job), then the config's own. With no rule matching,
 * Batch retries while attempts remain, as the local backend does. A SubmitJob retryStrategy replaces
 * the job definition's, so this is the whole policy of an rfm job.
 */
export function batchRetryStrategy(retries: RunRecord['retries']): NonNullable<SubmitJobCommandInput['retryStrategy']> {
  const own = retries.evaluate_on_exit.map((rule) => ({onExitCode: batchExitCodePattern(rule), action: rule.action === 'retry' ? 'RETRY' : 'EXIT'}) as const)
  const builtin = BUILTIN_RETRY_RULES.map((rule) => ({
    ...(rule.onStatusReason ? {onStatusReason: rule.onStatusReason} : {}),
    ...(rule.onExitCode ? {onExitCode: rule.onExitCode} : {}),
    action: rule.action === 'retry' ? ('RETRY' as const) : ('EXIT' as const),
  }))
  const evaluateOnExit = [...builtin, ...own]
  if (evaluateOnExit.length > MAX_EVALUATE_ON_EXIT) {
    throw new UsageError(
      `retries.evaluate_on_exit has ${own.length} rules; AWS Batch takes ${MAX_EVALUATE_ON_EXIT} in all and rfm uses ${builtin.length} (${BUILTIN_RETRY_RULES.map((r) => r.onStatusReason ?? `exit ${r.onExitCode}`).join(', ')}).`,
      {hint: `Keep at most ${MAX_EVALUATE_ON_EXIT - builtin.length} rules of your own.`},
    )
  }
  return {attempts: retries.attempts, evaluateOnExit}
}

/** Batch resourceRequirements for what was asked; only the values given override the job definition's. */
export function resourceRequirements(resources: BatchRequestOptions['resources']): Array<{type: 'VCPU' | 'MEMORY' | 'GPU'; value: string}> {
  if (!resources) return []
  return [
    ...(resources.cpus !== undefined ? [{type: 'VCPU' as const, value: String(Math.max(1, Math.ceil(resources.cpus)))}] : []),
    // Batch memory is MiB.
    ...(resources.memoryGiB !== undefined ? [{type: 'MEMORY' as const, value: String(Math.max(512, Math.ceil(resources.memoryGiB * 1024)))}] : []),
    ...(resources.gpus ? [{type: 'GPU' as const, value: String(resources.gpus)}] : []),
  ]
}

/** Batch job names: letters, digits, hyphens and underscores, at most 128. */
function jobName(run: RunRecord): string {
  return (run.name ? `${run.id}-${run.name}` : run.id).replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 128)
}

export function submitJobInput(run: RunRecord, profile: Profile, options: BatchRequestOptions): SubmitJobCommandInput {
  checkRequest(options)
  // Only what the runtime reads (src/runtime/protocol.ts); the image comes with the job definition.
  const environment = [
    {name: RUNTIME_ENV.store, value: run.store},
    {name: RUNTIME_ENV.runId, value: run.id},
    {name: RUNTIME_ENV.spotEndpoint, value: IMDS_ENDPOINT},
    ...(profile.region ? [{name: 'AWS_REGION', value: profile.region}] : []),
    ...(profile.endpoint ? [{name: RUNTIME_ENV.s3Endpoint, value: profile.endpoint}] : []),
    // Batch tells a child its index only; a job that splits work over the children needs the count
    ...(options.arraySize ? [{name: RUNTIME_ENV.arraySize, value: String(options.arraySize)}] : []),
  ]
  const requirements = resourceRequirements(options.resources)
  const containerOverrides = {
    environment,
    ...(requirements.length > 0 ? {resourceRequirements: requirements} : {}),
  }
  return {
    jobName: jobName(run),
    jobQueue: chooseQueue(profile, options),
    jobDefinition: chooseJobDefinition(profile, run, options),
    containerOverrides,
    retryStrategy: batchRetryStrategy(run.retries),
    ...(run.timeoutSeconds ? {timeout: {attemptDurationSeconds: Math.max(60, run.timeoutSeconds)}} : {}),
    ...(options.arraySize ? {arrayProperties: {size: options.arraySize}} : {}),
    tags: {'rfm:run-id': run.id, 'rfm:kind': run.kind, 'rfm:user': options.user ?? 'unknown'},
    propagateTags: true,
  }
}
