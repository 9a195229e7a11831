/**
 * Kind-specific flags of `rfm cloud launch <kind>` (`--stage dpo`, `--reward-funcs a b`,
 * `--sensor-enabled`). oclif knows a command's flags before it knows the kind, so these are taken
 * out of argv first and turned into config overrides placed before the user's `--set`s.
 */
import {UsageError} from '../errors'
import type {LaunchFlag} from '../plugin-api'

/**
 * The first positional token of argv, given which of the command's flags take a value
 * (`valueFlags`: long names and single-letter chars).
 */
export function firstPositional(argv: string[], valueFlags: Set<string>): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]
    if (token === '--') return argv[i + 1]
    if (!token.startsWith('-') || token === '-') return token
    if (token.includes('=')) continue
    const name = token.replace(/^--?/, '')
    if (valueFlags.has(name)) i++
  }
  return undefined
}

export interface ExtractedLaunchFlags {
  /** argv without the kind's flags, for oclif */
  rest: string[]
  /** `key=value` overrides (value as YAML), in argv order */
  sets: string[]
  /** flag → value, for display */
  values: Record<string, unknown>
}

export function extractLaunchFlags(argv: string[], kindName: string, flags: Record<string, LaunchFlag> | undefined): ExtractedLaunchFlags {
  const out: ExtractedLaunchFlags = {rest: [], sets: [], values: {}}
  if (!flags || Object.keys(flags).length === 0) return {...out, rest: [...argv]}
  const usage = (message: string, name: string) =>
    new UsageError(`--${name}: ${message}`, {hint: `Flags of the ${kindName} kind: ${describeLaunchFlags(flags)}.`, details: {flag: name}})
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]
    if (token === '--') {
      out.rest.push(...argv.slice(i))
      break
    }
    const match = /^--(no-)?([a-z0-9][a-z0-9-]*)(?:=(.*))?$/s.exec(token)
    const name = match?.[2]
    const flag = name ? flags[name] : undefined
    if (!match || !name || !flag) {
      out.rest.push(token)
      continue
    }
    const negated = Boolean(match[1])
    const inline = match[3]
    let value: unknown
    if (flag.type === 'boolean') {
      if (inline !== undefined) throw usage('is a switch and takes no value', name)
      value = !negated
    } else {
      if (negated) throw usage(`takes a value; --no-${name} is not a flag`, name)
      if (flag.type === 'string' || flag.type === 'number') {
        const next = inline ?? argv[i + 1]
        if (next === undefined || (inline === undefined && next.startsWith('--'))) throw usage('expects a value', name)
        if (inline === undefined) i++
        value = next
        if (flag.type === 'number') {
          value = Number(next)
          if (next.trim() === '' || !Number.isFinite(value)) throw usage(`expects a number, got "${next}"`, name)
        }
      } else {
        const values: string[] = inline === undefined ? [] : inline.split(',').filter(Boolean)
        while (inline === undefined && i + 1 < argv.length && !argv[i + 1].startsWith('-')) values.push(argv[++i])
        if (values.length === 0) throw usage('expects one or more values', name)
        value = values
      }
      const allowed = flag.options
      const given = Array.isArray(value) ? value : [String(value)]
      const bad = allowed ? given.find((v) => !allowed.includes(v)) : undefined
      if (bad !== undefined) throw usage(`"${bad}" is not one of ${allowed!.join(', ')}`, name)
    }
    out.values[name] = value
    out.sets.push(`${flag.path}=${JSON.stringify(value)}`)
  }
  return out
}

export function describeLaunchFlags(flags: Record<string, LaunchFlag>): string {
  return Object.entries(flags)
    .map(([name, flag]) => (flag.type === 'boolean' ? `--[no-]${name}` : flag.type === 'list' ? `--${name} A B ...` : `--${name} VALUE`))
    .join(', ')
}
