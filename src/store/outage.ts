import {isRetryable} from './retryable'
import type {ListResult, ObjectInfo, ObjectStore, PutFileOptions, PutOptions} from './types'

/**
 * How long the long-lived processes of a run (supervisor, runtime, checkpoint sync, staging) keep
 * retrying a store that is unreachable before they give up on one operation. The SDK's own retries
 * cover about a second; an endpoint restart, a network blip or S3 throttling can last minutes.
 */
export interface OutagePolicy {
  /** give up on an operation after the store has failed for this long (ms) */
  maxOutageMs: number
  /** first wait after a failure (ms); doubles up to maxDelayMs */
  initialDelayMs: number
  maxDelayMs: number
  /** told about each retry (for a log line) */
  onRetry?(info: {operation: string; key: string; attempt: number; delayMs: number; error: Error}): void
}

/** RFM_STORE_OUTAGE_SECONDS (default 600 s) bounds the wait; RFM_STORE_RETRY_MAX_DELAY_MS caps one backoff step. */
export function outagePolicyFromEnv(env: NodeJS.ProcessEnv = process.env): OutagePolicy {
  const seconds = Number(env.RFM_STORE_OUTAGE_SECONDS ?? 600)
  const maxDelay = Number(env.RFM_STORE_RETRY_MAX_DELAY_MS ?? 15_000)
  return {
    maxOutageMs: Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 600_000,
    initialDelayMs: 250,
    maxDelayMs: Number.isFinite(maxDelay) && maxDelay > 0 ? maxDelay : 15_000,
  }
}

/** An outage policy that reports retries on stderr (the 1st, then every 5th, of each operation). */
export function loggedOutagePolicy(prefix: string, env: NodeJS.ProcessEnv = process.env): OutagePolicy {
  return {
    ...outagePolicyFromEnv(env),
    onRetry({operation, key, attempt, delayMs, error}) {
      if (attempt === 1 || attempt % 5 === 0)
        process.stderr.write(`${prefix} store unreachable (${operation} ${key}, try ${attempt}): ${error.message}; retrying in ${Math.round(delayMs / 100) / 10}s\n`)
    },
  }
}

/** Runs `operation` until it succeeds, fails with a non-retryable error, or the outage budget is spent. */
export async function withOutageRetry<T>(policy: OutagePolicy, name: string, key: string, operation: () => Promise<T>): Promise<T> {
  const started = Date.now()
  let delay = policy.initialDelayMs
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation()
    } catch (error) {
      if (!isRetryable(error) || Date.now() - started + delay > policy.maxOutageMs) throw error
      policy.onRetry?.({operation: name, key, attempt, delayMs: delay, error: error as Error})
      await new Promise((resolve) => setTimeout(resolve, delay))
      // Jitter keeps many writers of one run (array children) from retrying in lockstep.
      delay = Math.min(policy.maxDelayMs, Math.round(delay * (1.6 + Math.random() * 0.8)))
    }
  }
}

/** For stores without a conditional write: a HEAD, then the PUT (a race remains; both real stores have putIfAbsent). */
export async function putIfAbsentByHead(store: ObjectStore, key: string, body: Uint8Array | string): Promise<boolean> {
  if (await store.head(key)) return false
  await store.put(key, body)
  return true
}

/**
 * A store whose every operation rides out outages with bounded, jittered exponential backoff.
 * Non-retryable errors (access denied, missing bucket, a full disk) still fail at once.
 */
export class OutageTolerantStore implements ObjectStore {
  readonly url: string
  readonly atomicAppend?: boolean
  putFile?: ObjectStore['putFile']
  getStream?: ObjectStore['getStream']
  uploadFile?: ObjectStore['uploadFile']
  downloadFile?: ObjectStore['downloadFile']
  ingestFile?: ObjectStore['ingestFile']

  constructor(
    readonly inner: ObjectStore,
    readonly policy: OutagePolicy = outagePolicyFromEnv(),
  ) {
    this.url = inner.url
    this.atomicAppend = inner.atomicAppend
    if (inner.putFile) this.putFile = (key: string, file: string, options?: PutFileOptions) => this.retry('upload', key, () => inner.putFile!(key, file, options))
    if (inner.getStream) this.getStream = (key: string) => this.retry('read', key, () => inner.getStream!(key))
    // Without these two, transfer.uploadFile/downloadFile would fall back to whole-file buffers.
    if (inner.uploadFile) this.uploadFile = (key: string, file: string, options?: PutFileOptions) => this.retry('upload', key, () => inner.uploadFile!(key, file, options))
    if (inner.ingestFile) this.ingestFile = (file, keyOf, options) => this.retry('upload', file, () => inner.ingestFile!(file, keyOf, options))
    if (inner.downloadFile) this.downloadFile = (key: string, file: string, options?: PutFileOptions) => this.retry('download', key, () => inner.downloadFile!(key, file, options))
  }

  private retry<T>(name: string, key: string, operation: () => Promise<T>): Promise<T> {
    return withOutageRetry(this.policy, name, key, operation)
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.retry('read', key, () => this.inner.get(key))
  }

  getFrom(key: string, start: number): Promise<Buffer | undefined> {
    return this.retry('read', key, () => this.inner.getFrom(key, start))
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.retry('inspect', key, () => this.inner.head(key))
  }

  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<void> {
    return this.retry('write', key, () => this.inner.put(key, body, options))
  }

  putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    const inner = this.inner
    return this.retry('write', key, () => (inner.putIfAbsent ? inner.putIfAbsent(key, body) : putIfAbsentByHead(inner, key, body)))
  }

  append(key: string, body: Uint8Array | string): Promise<void> {
    return this.retry('append', key, () => this.inner.append(key, body))
  }

  delete(key: string): Promise<void> {
    return this.retry('delete', key, () => this.inner.delete(key))
  }

  list(prefix: string, options?: {delimited?: boolean}): Promise<ListResult> {
    return this.retry('list', prefix, () => this.inner.list(prefix, options))
  }
}
