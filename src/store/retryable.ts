function status(error: unknown): number | undefined {
  return (error as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode
}

const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED'])

/** Throttling, server errors and dropped connections are worth another try; 4xx are not. */
export function isRetryable(error: unknown, depth = 0): boolean {
  if (!error || depth > 5) return false
  const e = error as {name?: string; code?: string; message?: string; cause?: unknown; details?: {retryable?: boolean}}
  if (e.details?.retryable) return true
  const code = status(error)
  if (code !== undefined && (code >= 500 || code === 429)) return true
  if (['SlowDown', 'Throttling', 'ThrottlingException', 'RequestTimeout', 'TimeoutError', 'InternalError', 'ServiceUnavailable'].includes(e.name ?? '')) return true
  if (e.code && RETRYABLE_CODES.has(e.code)) return true
  if (/socket hang up|aborted|premature close|ECONNRESET/i.test(e.message ?? '')) return true
  return isRetryable(e.cause, depth + 1)
}
