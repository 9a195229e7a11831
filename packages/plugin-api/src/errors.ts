/** rfm's typed user errors as plugins see them (`api.errors`; the host's src/errors satisfies this, src/plugin-api/conformance.ts checks). */

/** An rfm error as `--json` prints it. */
export interface ErrorData {
  name: string
  code: string
  message: string
  hint?: string
  exitCode: number
  details?: Record<string, unknown>
}

export interface RfmErrorOptions {
  code?: string
  hint?: string
  exitCode?: number
  details?: Record<string, unknown>
  cause?: unknown
}

/**
 * An rfm error. Every one carries the brand `error[Symbol.for('rfm.error')]` = its kind (UsageError,
 * ConfigError, NotFoundError, NotBuiltError, BackendError, RfmError): the host renders any error with
 * that brand as an rfm error (message + hint, exitCode, `{"error"}` under --json), whichever copy of
 * the code made it. A plugin that cannot reach `api.errors` may brand its own errors the same way.
 */
export interface RfmError extends Error {
  readonly code: string
  readonly hint?: string
  readonly exitCode: number
  readonly details?: Record<string, unknown>
  toJSON(): ErrorData
}

export type RfmErrorClass = new (message: string, options?: RfmErrorOptions) => RfmError

export interface ErrorsCore {
  RfmError: RfmErrorClass
  /** A flag, argument or combination of them that cannot work (exit 2). */
  UsageError: RfmErrorClass
  /** A config file or override that does not parse or validate; names the dotted path (exit 2). */
  ConfigError: RfmErrorClass
  /** Something the user named (a run, a profile, a job kind) does not exist (exit 2). */
  NotFoundError: RfmErrorClass
  /** A part of rfm that this version does not have yet (exit 1). */
  NotBuiltError: RfmErrorClass
  /** A backend or store failed (exit 1). */
  BackendError: RfmErrorClass
  /** True for an rfm error of any copy of rfm (the brand). */
  isRfmError(error: unknown): boolean
}
