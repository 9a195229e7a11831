/**
 * The contract between a backend (local supervisor, AWS Batch) and the rfm runtime inside a job:
 * the exit codes, the environment the backend sets, where a staged workdir is materialised in a
 * container, and the built-in retry rules. Both backends, the runtime and the Pulumi program
 * (infra/) import these, so they cannot drift apart. This module imports nothing.
 */

/** Exit code: the trainer finished. */
export const EXIT_OK = 0
/** Exit code of a config or usage error: retrying cannot help, so no backend retries it. */
export const EXIT_USAGE = 2
/** The runtime's "interrupted after checkpointing, retry me" exit code (EX_TEMPFAIL). */
export const EXIT_RETRY = 75

/** Environment a backend sets for the runtime (and that the runtime reads: nothing here is write-only). */
export const RUNTIME_ENV = {
  /** store URL (file:// or s3://) holding run.json, events, logs and checkpoints */
  store: 'RFM_STORE',
  runId: 'RFM_RUN_ID',
  /** attempt number; on Batch the runtime reads AWS_BATCH_JOB_ATTEMPT instead */
  attempt: 'RFM_ATTEMPT',
  /** instance metadata base URL; set on EC2, it turns on the spot-notice poll and host events */
  spotEndpoint: 'RFM_SPOT_ENDPOINT',
  /** S3 endpoint override (S3-compatible stores) */
  s3Endpoint: 'RFM_S3_ENDPOINT',
  /** size of an array job (Batch tells a child its index only) */
  arraySize: 'RFM_ARRAY_SIZE',
  /** index of an array job's child (the runtime copies AWS_BATCH_JOB_ARRAY_INDEX here); read by arraySlot */
  arrayIndex: 'RFM_ARRAY_INDEX',
  /** where a staged workdir is materialised (default: a fresh folder under the temp dir) */
  workdir: 'RFM_WORKDIR',
  /** local backend: the runtime leads its process group, so a stop signal reaches a shell's children */
  processGroupLeader: 'RFM_PROCESS_GROUP_LEADER',
} as const

/** What AWS Batch itself sets in a job's container (https://docs.aws.amazon.com/batch/latest/userguide/job_env_vars.html). */
export const BATCH_ENV = {
  attempt: 'AWS_BATCH_JOB_ATTEMPT',
  arrayIndex: 'AWS_BATCH_JOB_ARRAY_INDEX',
  mainNodeAddress: 'AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS',
  nodeIndex: 'AWS_BATCH_JOB_NODE_INDEX',
  numNodes: 'AWS_BATCH_JOB_NUM_NODES',
} as const

/** The images' WORKDIR (owned by uid 10001): a staged workdir is materialised here in a container. */
export const CONTAINER_WORKDIR = '/home/rfm/work'
/** The images' user. */
export const CONTAINER_UID = 10_001

/** Batch's status reason when the host of an attempt went away (a spot reclaim). */
export const HOST_GONE_REASON = 'Host EC2*'

/** A retry rule rfm always applies, before the config's own (AWS Batch evaluateOnExit semantics). */
export interface BuiltinRetryRule {
  onStatusReason?: string
  onExitCode?: string
  action: 'retry' | 'exit'
  why: string
}

/**
 * The built-in rules, in order: a reclaimed host and the runtime's "retry me" code retry (while
 * attempts remain); a usage/config error ends the job. The config's rules come after these.
 */
export const BUILTIN_RETRY_RULES: readonly BuiltinRetryRule[] = [
  {onStatusReason: HOST_GONE_REASON, action: 'retry', why: 'the host went away (spot reclaim)'},
  {onExitCode: String(EXIT_RETRY), action: 'retry', why: `interrupted after checkpointing (exit ${EXIT_RETRY})`},
  {onExitCode: String(EXIT_USAGE), action: 'exit', why: `a config or usage error (exit ${EXIT_USAGE}): retrying cannot help`},
]

/** Batch takes at most this many evaluateOnExit entries (API_RetryStrategy). */
export const MAX_EVALUATE_ON_EXIT = 5

/**
 * Attempts a job gets when its config does not set retries.attempts: on a spot queue enough to
 * survive reclaims (each costs one attempt on Batch), elsewhere one.
 */
export const DEFAULT_SPOT_ATTEMPTS = 5
export const DEFAULT_ATTEMPTS = 1

/** Batch's glob: exact, or a prefix when the pattern ends with `*` (API_EvaluateOnExit). */
export function batchGlob(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern
}

/** The slot of an array job's child: index `index` of `size` children (size Infinity when unknown). */
export interface ArraySlot {
  index: number
  size: number
}

/** This process's array slot: RFM_ARRAY_INDEX (set by the runtime on Batch) of RFM_ARRAY_SIZE (set in the Batch request). */
export function arraySlot(env: Record<string, string | undefined> = process.env): ArraySlot | undefined {
  const index = env[RUNTIME_ENV.arrayIndex] ?? env[BATCH_ENV.arrayIndex]
  if (index === undefined) return undefined
  const size = Number(env[RUNTIME_ENV.arraySize] ?? env.AWS_BATCH_JOB_ARRAY_SIZE)
  // without the size a child takes its own item only
  return {index: Number(index), size: Number.isInteger(size) && size > 0 ? size : Number.POSITIVE_INFINITY}
}

/** The items a slot handles: index, index + size, …; all of them without a slot (one job, no array). */
export function shareOf<T>(items: readonly T[], slot: ArraySlot | undefined): T[] {
  if (!slot) return [...items]
  return items.filter((_, i) => (Number.isFinite(slot.size) ? i % slot.size === slot.index : i === slot.index))
}
