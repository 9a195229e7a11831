/**
 * Reading GetObject bodies. The SDK's retries end when the response headers arrive: a connection
 * that drops or stalls mid-body is not retried, and a stalled body never ends (requestTimeout bounds
 * only the wait for headers; aws-sdk-js-v3 issues #4897 and #8098). So rfm watches every body for
 * idleness and retries whole reads whose body failed.
 */
import {pipeline, Transform, type Readable} from 'node:stream'

import {isRetryable} from './retryable'

/** Default: a body that sends no byte for this long, while its reader wants more, is given up. */
export const BODY_IDLE_TIMEOUT_MS = 60_000
/** Whole reads (get, getFrom) whose body failed are retried this many times more. */
export const BODY_RETRIES = 4

/** A retryable error for a body that stopped sending (the name isRetryable knows). */
function stalled(idleMs: number): Error {
  const error = new Error(`the object's body sent nothing for ${Math.round(idleMs / 100) / 10}s`)
  error.name = 'TimeoutError'
  return error
}

/**
 * `source` passed through a watcher that fails it with a retryable TimeoutError when it delivers no
 * data for `idleMs`. The source is piped into the watcher at once; what arrives before the reader
 * reads waits in the watcher's buffer. A full buffer (a slow reader, or none yet: backpressure) does
 * not count as the source being idle.
 */
export function watchIdle(source: Readable, idleMs: number): Readable {
  let timer: NodeJS.Timeout | undefined
  const arm = () => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      if (watcher.writableNeedDrain || watcher.readableLength >= watcher.readableHighWaterMark) return arm()
      source.destroy(stalled(idleMs))
    }, idleMs)
    timer.unref()
  }
  const watcher = new Transform({
    transform(chunk, _encoding, done) {
      arm()
      done(null, chunk)
    },
  })
  watcher.once('close', () => clearTimeout(timer))
  pipeline(source, watcher, () => clearTimeout(timer))
  arm()
  return watcher
}

/** A body that broke off or stalled after its headers arrived (what the SDK does not retry). */
export class BodyReadError extends Error {
  constructor(cause: unknown) {
    super((cause as Error)?.message || String(cause), {cause})
    this.name = (cause as Error)?.name || 'Error'
  }
}

/** The whole body as a Buffer; a BodyReadError if it breaks off or stalls. */
export async function readBody(body: unknown, idleMs: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  try {
    for await (const chunk of watchIdle(body as Readable, idleMs)) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array))
  } catch (error) {
    throw new BodyReadError(error)
  }
  return Buffer.concat(chunks)
}

/**
 * Runs `read` (one GET and its body) again when its body failed with a retryable error, up to
 * BODY_RETRIES more times with a short backoff. A failed request itself is not retried here: the
 * SDK has already retried it.
 */
export async function retryBody<T>(read: () => Promise<T>, retries = BODY_RETRIES): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read()
    } catch (error) {
      if (!(error instanceof BodyReadError) || attempt >= retries || !isRetryable(error.cause)) throw error
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt))
    }
  }
}
