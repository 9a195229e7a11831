/**
 * Errors of dataset generation. They carry rfm's error brand (`Symbol.for('rfm.error')`, whose value
 * is the kind of rfm error they are: UsageError, ConfigError, BackendError), so the host renders
 * them like its own (message + hint, exit code, `{"error"}` under --json) without the library
 * needing the host's classes.
 */
const ERROR_BRAND: unique symbol = Symbol.for('rfm.error') as never

export class DatasetError extends Error {
  readonly [ERROR_BRAND]: string
  readonly code: string
  readonly hint?: string
  readonly exitCode: number

  constructor(message: string, options: {code?: string; hint?: string; exitCode?: number; cause?: unknown} = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'DatasetError'
    this[ERROR_BRAND] = options.exitCode === 1 ? 'BackendError' : options.code === 'USAGE' ? 'UsageError' : 'ConfigError'
    this.code = options.code ?? 'CONFIG_INVALID'
    this.hint = options.hint
    this.exitCode = options.exitCode ?? 2
  }
}

/** A bad flag value (exit 2); the message names the flag. */
export function usageError(message: string, hint?: string): DatasetError {
  return new DatasetError(message, {code: 'USAGE', hint})
}

/** A bad config key or data file (exit 2); the message names the key or the file. */
export function configError(message: string, hint?: string): DatasetError {
  return new DatasetError(message, {code: 'CONFIG_INVALID', hint})
}
