/**
 * Errors of dataset generation, shaped like rfm's typed errors (message, hint, exitCode, toJSON) so
 * the commands render them the same way, without the library needing the host's classes.
 */
export class DatasetError extends Error {
  readonly code: string
  readonly hint?: string
  readonly exitCode: number

  constructor(message: string, options: {code?: string; hint?: string; exitCode?: number; cause?: unknown} = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = options.exitCode === 1 ? 'BackendError' : options.code === 'USAGE' ? 'UsageError' : 'ConfigError'
    this.code = options.code ?? 'CONFIG_INVALID'
    this.hint = options.hint
    this.exitCode = options.exitCode ?? 2
  }

  toJSON(): {name: string; code: string; message: string; hint?: string; exitCode: number} {
    return {name: this.name, code: this.code, message: this.message, exitCode: this.exitCode, ...(this.hint ? {hint: this.hint} : {})}
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
