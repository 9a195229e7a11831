/**
 * `--dry-run`'s account of a script's command line: each flag with the config key it came from and
 * where that key was set (config file, the kind's launch flag, --set), or why rfm added it.
 */
import type {ExternalCommand, GivenKeys} from '../plugin-api'

const ORIGIN = {file: 'config file', flag: 'launch flag', set: '--set'} as const

export function quoteArg(a: string): string {
  return /[\s"'$]/.test(a) || a === '' ? JSON.stringify(a) : a
}

/** One line per script flag: `--x VALUE   key (config file)`; lines for files written for the script follow. */
export function describeProvenance(command: ExternalCommand, given: GivenKeys | undefined): string[] {
  const lines: string[] = []
  const flagKeys = command.flagKeys ?? {}
  const added = command.addedFlags ?? {}
  const argv = command.argv
  const rows: Array<[string, string]> = []
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const key = flagKeys[flag]
    const why = added[flag]
    if (key === undefined && why === undefined) continue
    const values: string[] = []
    while (i + 1 < argv.length && !(argv[i + 1].startsWith('--') && (flagKeys[argv[i + 1]] !== undefined || added[argv[i + 1]] !== undefined))) values.push(argv[++i])
    const text = [flag, ...values.map(quoteArg)].join(' ')
    if (why !== undefined) rows.push([text, `added by rfm: ${why}`])
    else {
      const origin = given?.keys[key!]
      const extra = given && key! in given.extra ? ', not an rfm key: passed as written' : ''
      rows.push([text, `${key} (${origin ? ORIGIN[origin] : 'set'}${extra})`])
    }
  }
  if (rows.length > 0) {
    const width = Math.min(48, Math.max(...rows.map(([t]) => t.length)))
    lines.push('Where each flag comes from:')
    for (const [text, from] of rows) lines.push(`  ${text.padEnd(width)}  ${from}`)
  }
  for (const file of command.files ?? [])
    lines.push(
      `Written for the script: ${file.path}`,
      ...file.content
        .trimEnd()
        .split('\n')
        .map((l) => `  | ${l}`),
    )
  return lines
}
