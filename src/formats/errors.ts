import {RfmError} from '../errors'

/**
 * A data file that cannot be read as what it claims to be. It names the file and, where known, the
 * row (1-based line of a JSONL file, 0-based row of a dataset) and field, so a user can fix the record.
 * Exit code 2: bad input data is the user's to fix, like a bad config.
 */
export class FormatError extends RfmError {
  readonly source: string
  readonly row?: number
  readonly field?: string

  constructor(source: string, message: string, options: {row?: number; field?: string; hint?: string; cause?: unknown} = {}) {
    const where = [source, options.row === undefined ? undefined : `row ${options.row}`, options.field ? `field "${options.field}"` : undefined].filter(Boolean).join(', ')
    super(`${where}: ${message}`, {
      code: 'FORMAT_ERROR',
      exitCode: 2,
      hint: options.hint,
      cause: options.cause,
      details: {source, ...(options.row === undefined ? {} : {row: options.row}), ...(options.field ? {field: options.field} : {})},
    })
    this.source = source
    this.row = options.row
    this.field = options.field
  }
}
