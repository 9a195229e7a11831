import {RfmError, UsageError} from '../errors'

/** Any thrown value → an RfmError: oclif's parse errors become usage errors, the rest internal. */
export function toRfmError(error: unknown, commandId?: string): RfmError {
  const command = commandId?.replaceAll(':', ' ')
  if (error instanceof RfmError) return error
  const err = error as Error & {oclif?: {exit?: number}; code?: string}
  if (err?.oclif?.exit === 2 || /Error$/.test(err?.constructor?.name ?? '') && err?.name?.includes('Parse')) {
    const message = (err.message ?? String(error)).split('\n').filter((line) => !/^See more help/.test(line)).join(' ').trim()
    return new UsageError(message.endsWith('.') ? message : `${message}.`, {hint: command ? `See rfm ${command} --help.` : 'See rfm --help.'})
  }
  return new RfmError(`Internal error: ${err?.message ?? String(error)}`, {
    code: 'INTERNAL',
    hint: 'This is a bug in rfm. Run again with RFM_DEBUG=1 to see the stack trace, and report it.',
    details: process.env.RFM_DEBUG ? {stack: err?.stack} : undefined,
  })
}

export function renderError(error: RfmError, color: boolean): string {
  const red = (s: string) => (color ? `\u001B[31m${s}\u001B[39m` : s)
  const dim = (s: string) => (color ? `\u001B[2m${s}\u001B[22m` : s)
  let text = `${red('Error:')} ${error.message}\n`
  if (error.hint) text += `${dim('Hint:')} ${error.hint}\n`
  if (process.env.RFM_DEBUG && error.stack) text += `${error.stack}\n`
  return text
}
