import {isRetryable} from '../store/retryable'
import type {ObjectStore} from '../store/types'

/** Runs `fn` over `items` with at most `limit` at a time; the first error stops new work and is thrown. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0
  let failed: unknown
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const index = next++
      try {
        await fn(items[index], index)
      } catch (error) {
        failed ??= error
      }
    }
  }
  await Promise.all(Array.from({length: Math.max(1, Math.min(limit, items.length))}, worker))
  if (failed !== undefined) throw failed
}

/** A counting semaphore, to bound one kind of work (large files) inside a wider pool. */
export class Semaphore {
  private waiting: Array<() => void> = []
  constructor(private free: number) {}

  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--
    else await new Promise<void>((resolve) => this.waiting.push(resolve))
    try {
      return await fn()
    } finally {
      const wake = this.waiting.shift()
      if (wake) wake()
      else this.free++
    }
  }
}

export interface RetryOptions {
  attempts?: number
  baseMs?: number
  maxMs?: number
  /** called before each retry (for tests and verbose output) */
  onRetry?(error: unknown, attempt: number): void
}

/**
 * Retries a whole operation (one file's upload or download) with exponential backoff and jitter,
 * on top of the SDK's per-request retries: a multipart upload whose completion was lost, or a
 * download cut mid-body, is only recoverable by starting that file again.
 */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 6
  const base = options.baseMs ?? 100
  const max = options.maxMs ?? 5000
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error
      options.onRetry?.(error, attempt)
      const delay = Math.min(max, base * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2)
      await new Promise((resolve) => setTimeout(resolve, delay))
    }
  }
}

const RETRYING = Symbol('retrying')

/**
 * The store with every call retried like withRetry, as OutageTolerantStore retries them. `append`
 * too: S3Store.append re-PUTs the bytes it last had acknowledged plus the new line, so a retry after
 * a lost answer writes that line once (test/unit/runs/early-ack-events.test.ts); the file store's
 * O_APPEND write fails with local errors (ENOSPC, EACCES), which are not retried.
 */
export function retryingStore(store: ObjectStore, options: RetryOptions = {}): ObjectStore {
  if ((store as {[RETRYING]?: boolean})[RETRYING]) return store
  const wrapped: ObjectStore & {[RETRYING]: boolean} = {
    [RETRYING]: true,
    url: store.url,
    get: (key) => withRetry(() => store.get(key), options),
    getFrom: (key, start) => withRetry(() => store.getFrom(key, start), options),
    head: (key) => withRetry(() => store.head(key), options),
    put: (key, body, putOptions) => withRetry(() => store.put(key, body, putOptions), options),
    append: (key, body) => withRetry(() => store.append(key, body), options),
    delete: (key) => withRetry(() => store.delete(key), options),
    list: (prefix, listOptions) => withRetry(() => store.list(prefix, listOptions), options),
    ...(store.putFile ? {putFile: store.putFile.bind(store)} : {}),
    ...(store.ingestFile ? {ingestFile: store.ingestFile.bind(store)} : {}),
    ...(store.getStream ? {getStream: (key: string) => withRetry(() => store.getStream!(key), options)} : {}),
  }
  return wrapped
}
