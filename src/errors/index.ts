/**
 * User-facing errors. Every error a user can cause or fix is one of these, so that commands render
 * them the same way (one paragraph + hint on a terminal, plain data under --json) and exit with a
 * meaningful code: 2 for usage/config mistakes, 1 for failures of the system or of the job.
 */
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
 * The brand of an rfm error: `error[Symbol.for('rfm.error')]` is its kind (UsageError, ConfigError,
 * NotFoundError, NotBuiltError, BackendError or RfmError). `Symbol.for` is one symbol per process,
 * so an error made by another copy of this module (a plugin's bundle, a second install of rfm) is
 * still recognised and rendered by the host's one handler (src/cli/errors.ts) — `instanceof` is not.
 */
export const ERROR_BRAND: unique symbol = Symbol.for('rfm.error') as never

/** The fields a branded error carries (see ERROR_BRAND). */
export interface BrandedError extends Error {
  [ERROR_BRAND]: string
  code?: string
  hint?: string
  exitCode?: number
  details?: Record<string, unknown>
}

export class RfmError extends Error {
  [ERROR_BRAND]: string
  readonly code: string
  readonly hint?: string
  readonly exitCode: number
  readonly details?: Record<string, unknown>

  constructor(message: string, options: RfmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = new.target.name
    this[ERROR_BRAND] = new.target.name
    this.code = options.code ?? 'RFM_ERROR'
    this.hint = options.hint
    this.exitCode = options.exitCode ?? 1
    this.details = options.details
  }

  toJSON(): ErrorData {
    const data: ErrorData = {name: this.name, code: this.code, message: this.message, exitCode: this.exitCode}
    if (this.hint) data.hint = this.hint
    if (this.details) data.details = this.details
    return data
  }
}

/** A flag, argument or combination of them that cannot work. */
export class UsageError extends RfmError {
  constructor(message: string, options: RfmErrorOptions = {}) {
    super(message, {code: 'USAGE', exitCode: 2, ...options})
  }
}

/** A config file or override that does not parse or does not validate; names the dotted path. */
export class ConfigError extends RfmError {
  constructor(message: string, options: RfmErrorOptions = {}) {
    super(message, {code: 'CONFIG_INVALID', exitCode: 2, ...options})
  }
}

/** Something the user named (a run, a profile, a job kind) does not exist. */
export class NotFoundError extends RfmError {
  constructor(message: string, options: RfmErrorOptions = {}) {
    super(message, {code: 'NOT_FOUND', exitCode: 2, ...options})
  }
}

/** A part of rfm that this version does not have yet; says so instead of pretending. */
export class NotBuiltError extends RfmError {
  constructor(message: string, options: RfmErrorOptions = {}) {
    super(message, {code: 'NOT_BUILT', exitCode: 1, ...options})
  }
}

/** A backend or store failed (I/O, a dead process, a cloud API). */
export class BackendError extends RfmError {
  constructor(message: string, options: RfmErrorOptions = {}) {
    super(message, {code: 'BACKEND', exitCode: 1, ...options})
  }
}

/** True for an rfm error of any copy of this module (see ERROR_BRAND). */
export function isRfmError(error: unknown): error is BrandedError {
  return error instanceof RfmError || (typeof error === 'object' && error !== null && typeof (error as Partial<BrandedError>)[ERROR_BRAND] === 'string')
}

/** A branded error of another copy as this copy's RfmError, its kind as its name (what --json prints). */
export function asRfmError(error: BrandedError): RfmError {
  if (error instanceof RfmError) return error
  const copy = new RfmError(error.message, {
    code: error.code,
    hint: error.hint,
    exitCode: typeof error.exitCode === 'number' ? error.exitCode : 1,
    details: error.details,
    cause: error.cause,
  })
  copy.name = error[ERROR_BRAND]
  copy[ERROR_BRAND] = error[ERROR_BRAND]
  copy.stack = error.stack
  return copy
}
