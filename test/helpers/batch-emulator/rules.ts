/**
 * AWS Batch's rules for SubmitJob, each quoted from the AWS Batch API reference
 * (https://docs.aws.amazon.com/batch/latest/APIReference/), independent of rfm's request builder:
 * the emulator refuses what Batch would refuse, with Batch's ClientException.
 */
import type {EvaluateOnExit, JobDefinition, SubmitJobCommandInput} from '@aws-sdk/client-batch'

export class ClientException extends Error {
  override name = 'ClientException'
}

function refuse(message: string): never {
  throw new ClientException(message)
}

/** Batch's pattern match (EvaluateOnExit): exact, or a prefix when the pattern ends with `*`. */
export function batchGlob(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern
}

export function validateSubmitJob(input: SubmitJobCommandInput, definition: JobDefinition): void {
  // SubmitJob jobName: "It can be up to 128 letters long. The first character must be alphanumeric,
  // can contain uppercase and lowercase letters, numbers, hyphens (-), and underscores (_)."
  if (!input.jobName || !/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(input.jobName)) refuse(`Job name ${JSON.stringify(input.jobName)} is invalid`)
  validateTags(input.tags ?? {})
  const strategy = input.retryStrategy
  if (strategy) {
    // RetryStrategy attempts: "You can specify between 1 and 10 attempts."
    if (strategy.attempts !== undefined && (!Number.isInteger(strategy.attempts) || strategy.attempts < 1 || strategy.attempts > 10))
      refuse(`retryStrategy.attempts must be between 1 and 10, got ${strategy.attempts}`)
    // RetryStrategy evaluateOnExit: "Array of up to 5 objects that specify the conditions where jobs are retried or failed."
    if ((strategy.evaluateOnExit ?? []).length > 5) refuse(`retryStrategy.evaluateOnExit takes up to 5 entries, got ${strategy.evaluateOnExit!.length}`)
    for (const rule of strategy.evaluateOnExit ?? []) validateRule(rule)
  }
  // JobTimeout attemptDurationSeconds: "The minimum value for the timeout is 60 seconds."
  const timeout = input.timeout?.attemptDurationSeconds
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 60)) refuse(`timeout.attemptDurationSeconds must be at least 60, got ${timeout}`)
  // ArrayProperties size: "The size of the array job ... Valid values are integers between 2 and 10,000."
  const size = input.arrayProperties?.size
  if (size !== undefined && (!Number.isInteger(size) || size < 2 || size > 10_000)) refuse(`arrayProperties.size must be between 2 and 10000, got ${size}`)
  // SubmitJob nodeOverrides: "A list of node overrides ... that specify the node range to target and
  // the container overrides for that node range" — multi-node parallel job definitions only;
  // containerOverrides are for single-node (container) jobs.
  if (input.nodeOverrides && definition.type !== 'multinode') refuse(`nodeOverrides are only valid for multi-node parallel jobs; ${definition.jobDefinitionName} is of type ${definition.type}`)
  if (input.containerOverrides && definition.type === 'multinode') refuse('containerOverrides are not valid for a multi-node parallel job; use nodeOverrides')
  if (input.nodeOverrides && size !== undefined) refuse('Array jobs of multi-node parallel jobs are not supported')
  // ResourceRequirement value: VCPU and GPU whole numbers; MEMORY "in MiB ... must be at least 4 MiB".
  const overrides = input.containerOverrides ?? input.nodeOverrides?.nodePropertyOverrides?.[0]?.containerOverrides
  for (const requirement of overrides?.resourceRequirements ?? []) {
    const n = Number(requirement.value)
    if (!['VCPU', 'MEMORY', 'GPU'].includes(requirement.type ?? '')) refuse(`resourceRequirements type ${requirement.type} is invalid`)
    if (!Number.isInteger(n) || n < (requirement.type === 'MEMORY' ? 4 : 1)) refuse(`resourceRequirements ${requirement.type} value ${JSON.stringify(requirement.value)} is invalid`)
  }
}

function validateRule(rule: EvaluateOnExit): void {
  // EvaluateOnExit action: "Specifies the action to take if all of the specified conditions
  // (onStatusReason, onReason, and onExitCode) are met. The values aren't case sensitive." (RETRY | EXIT)
  if (!['RETRY', 'EXIT'].includes((rule.action ?? '').toUpperCase())) refuse(`evaluateOnExit action ${JSON.stringify(rule.action)} is invalid`)
  // onExitCode: "It can be up to 512 characters long. It can contain only numbers, and can end with an asterisk (*)"
  if (rule.onExitCode !== undefined && !/^[0-9]*\*?$/.test(rule.onExitCode)) refuse(`evaluateOnExit onExitCode ${JSON.stringify(rule.onExitCode)} is invalid`)
  // onStatusReason / onReason: "It can contain letters, numbers, periods (.), colons (:), and white
  // spaces (including spaces or tabs). It can optionally end with an asterisk (*)"
  for (const pattern of [rule.onStatusReason, rule.onReason]) {
    if (pattern !== undefined && (pattern.length > 512 || !/^[A-Za-z0-9.: \t]*\*?$/.test(pattern))) refuse(`evaluateOnExit pattern ${JSON.stringify(pattern)} is invalid`)
  }
}

function validateTags(tags: Record<string, string>): void {
  // Tagging (TagResource): "Maximum number of tags per resource – 50 ... Maximum key length – 128
  // Unicode characters ... Maximum value length – 256 ... allowed characters are: letters, numbers,
  // and spaces representable in UTF-8, and the following characters: + - = . _ : / @ ... Don't use
  // aws: ... as a prefix for either keys or values"
  const entries = Object.entries(tags)
  if (entries.length > 50) refuse(`at most 50 tags, got ${entries.length}`)
  const allowed = /^[\p{L}\p{N}\s+\-=._:/@]*$/u
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > 128 || !allowed.test(key) || key.toLowerCase().startsWith('aws:')) refuse(`tag key ${JSON.stringify(key)} is invalid`)
    if (value.length > 256 || !allowed.test(value)) refuse(`tag value ${JSON.stringify(value)} is invalid`)
  }
}

/** What an attempt's exit leads to (RetryStrategy, EvaluateOnExit). */
export function retryDecision(
  strategy: {attempts?: number; evaluateOnExit?: EvaluateOnExit[]} | undefined,
  attemptsSoFar: number,
  exit: {exitCode?: number; statusReason: string; reason?: string},
): 'RETRY' | 'EXIT' {
  // EvaluateOnExit: "If none of the EvaluateOnExit conditions in a RetryStrategy match, then the job is retried."
  // "all of the specified conditions (onStatusReason, onReason, and onExitCode) are met"
  const rule = (strategy?.evaluateOnExit ?? []).find(
    (r) =>
      (r.onStatusReason === undefined || batchGlob(r.onStatusReason, exit.statusReason)) &&
      (r.onReason === undefined || batchGlob(r.onReason, exit.reason)) &&
      (r.onExitCode === undefined || batchGlob(r.onExitCode, exit.exitCode === undefined ? undefined : String(exit.exitCode))),
  )
  const action = rule?.action?.toUpperCase() ?? 'RETRY'
  // attempts: "The number of times to move a job to the RUNNABLE status." (1: no retry)
  return action === 'RETRY' && attemptsSoFar < (strategy?.attempts ?? 1) ? 'RETRY' : 'EXIT'
}

/**
 * The job's effective settings: "containerOverrides ... override the existing environment variables
 * from the Docker image or the job definition"; resourceRequirements "This overrides the settings in
 * the job definition"; SubmitJob retryStrategy "When a retry strategy is specified here, it overrides
 * the retry strategy defined in the job definition"; SubmitJob timeout "... overrides the timeout
 * configuration specified in the job definition".
 */
export function effectiveJob(input: SubmitJobCommandInput, definition: JobDefinition) {
  const properties = definition.containerProperties ?? definition.nodeProperties?.nodeRangeProperties?.[0]?.container ?? {}
  const overrides = input.containerOverrides ?? input.nodeOverrides?.nodePropertyOverrides?.[0]?.containerOverrides ?? {}
  const environment = new Map<string, string>()
  for (const e of properties.environment ?? []) environment.set(e.name ?? '', e.value ?? '')
  for (const e of overrides.environment ?? []) environment.set(e.name ?? '', e.value ?? '')
  const resources = new Map<string, string>()
  for (const r of properties.resourceRequirements ?? []) resources.set(r.type ?? '', r.value ?? '')
  for (const r of overrides.resourceRequirements ?? []) resources.set(r.type ?? '', r.value ?? '')
  return {
    environment,
    vcpus: Number(resources.get('VCPU') ?? properties.vcpus ?? 1),
    memoryMiB: resources.has('MEMORY') || properties.memory ? Number(resources.get('MEMORY') ?? properties.memory) : undefined,
    gpus: Number(resources.get('GPU') ?? 0),
    retryStrategy: input.retryStrategy ?? definition.retryStrategy,
    attemptDurationSeconds: input.timeout?.attemptDurationSeconds ?? definition.timeout?.attemptDurationSeconds,
    jobRoleArn: properties.jobRoleArn,
    command: overrides.command ?? properties.command,
  }
}
