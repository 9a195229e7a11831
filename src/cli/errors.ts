import {asRfmError, BackendError, isRfmError, RfmError, UsageError} from '../errors'

/** Any thrown value → an RfmError: oclif's parse errors become usage errors, the rest internal. */
export function toRfmError(error: unknown, commandId?: string): RfmError {
  const command = commandId?.replaceAll(':', ' ')
  // the host's errors and those of a plugin's copy of src/errors (branded, see ERROR_BRAND)
  if (isRfmError(error)) return asRfmError(error)
  const err = error as Error & {oclif?: {exit?: number}; code?: string}
  if (err?.oclif?.exit === 2 || (/Error$/.test(err?.constructor?.name ?? '') && err?.name?.includes('Parse'))) {
    const message = (err.message ?? String(error))
      .split('\n')
      .filter((line) => !/^See more help/.test(line))
      .join(' ')
      .trim()
    return new UsageError(message.endsWith('.') ? message : `${message}.`, {hint: command ? `See rfm ${command} --help.` : 'See rfm --help.'})
  }
  const system = systemError(err)
  if (system) return system
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

/**
 * Errors of the file system about a path the user gave or owns (permissions, a file where a folder
 * should be, a full disk) are not bugs in rfm: say what happened to which path and what to do.
 */
function systemError(err: (NodeJS.ErrnoException & {dest?: string}) | undefined): RfmError | undefined {
  if (!err || typeof err.code !== 'string' || typeof err.path !== 'string') return undefined
  const where = err.dest ? `${err.path} → ${err.dest}` : err.path
  const action = err.syscall ? ` (${err.syscall})` : ''
  const user = (message: string, hint: string) => new UsageError(message, {code: err.code, hint, details: {path: err.path, syscall: err.syscall}})
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return user(`Permission denied: ${where}${action}.`, 'Check the owner and permissions of that path (ls -l), or run as a user who may read and write it.')
    case 'EEXIST':
      return user(`${where} already exists${action}.`, 'Give a path that does not exist yet, or a folder.')
    case 'ENOTDIR':
      return user(`A part of ${where} is a file, not a folder${action}.`, 'Give a path whose parents are folders.')
    case 'EISDIR':
      return user(`${where} is a folder, not a file${action}.`, 'Give the path of a file.')
    case 'ENOENT':
      return user(`${where} does not exist (or was removed while rfm used it)${action}.`, 'Check the path; if another process removes files there, run again when it is done.')
    case 'ELOOP':
      return user(`${where} is a loop of symbolic links${action}.`, 'Fix or remove the links.')
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EROFS':
    case 'EMFILE':
    case 'ENFILE':
      return new BackendError(
        `Cannot write ${where}: ${err.code === 'EROFS' ? 'the file system is read-only' : err.code === 'EMFILE' || err.code === 'ENFILE' ? 'too many open files' : 'no space left'}${action}.`,
        {
          code: err.code,
          hint: 'Free space (or raise the open-file limit, ulimit -n) and run again; committed checkpoints and datasets are intact.',
        },
      )
    default:
      return undefined
  }
}
