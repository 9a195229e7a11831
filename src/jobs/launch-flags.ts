/**
 * Kind-specific flags of `rfm cloud launch <kind>` (`--stage dpo`, `--reward-funcs a b`,
 * `--sensor-enabled`): oclif flags built at run time from the kind's `launchFlags` once the kind
 * argument is known, and the config overrides their values become (placed before the user's `--set`s).
 */
import {Flags, type Interfaces} from '../vendor/oclif-core'

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

/** Long names and chars of the flags that take a value, from a command's oclif flag table. */
export function valueFlagNames(flags: Record<string, {type: string; char?: string}>): Set<string> {
  const names = new Set<string>()
  for (const [name, flag] of Object.entries(flags)) {
    if (flag.type !== 'option') continue
    names.add(name)
    if (flag.char) names.add(flag.char)
  }
  return names
}

/** A kind flag's bad value: thrown from an oclif parse function, which rewrites a thrown error's message. */
class LaunchFlagValueError extends Error {
  constructor(readonly usage: UsageError) {
    super(usage.message)
  }
}

function usage(kindName: string, flags: Record<string, LaunchFlag>, name: string, message: string): UsageError {
  return new UsageError(`--${name}: ${message}`, {hint: `Flags of the ${kindName} kind: ${describeLaunchFlags(flags)}.`, details: {flag: name}})
}

/** oclif flags for a kind's launch flags; values are checked here so errors name the flag and list the kind's flags. */
export function launchFlagsForOclif(kindName: string, flags: Record<string, LaunchFlag> | undefined) {
  const out: Interfaces.FlagInput = {}
  for (const [name, flag] of Object.entries(flags ?? {})) {
    const fail = (message: string) => new LaunchFlagValueError(usage(kindName, flags!, name, message))
    const allowed = (value: string) => {
      if (flag.options && !flag.options.includes(value)) throw fail(`"${value}" is not one of ${flag.options.join(', ')}`)
      return value
    }
    const description = flag.description
    if (flag.type === 'boolean') out[name] = Flags.boolean({description, allowNo: true})
    else if (flag.type === 'list') out[name] = Flags.string({description, multiple: true, delimiter: ',', parse: async (value) => allowed(value)})
    else if (flag.type === 'number') {
      out[name] = Flags.string({
        description,
        parse: async (value) => {
          if (value.trim() === '' || !Number.isFinite(Number(value))) throw fail(`expects a number, got "${value}"`)
          return value
        },
      })
    } else out[name] = Flags.string({description, parse: async (value) => allowed(value)})
  }
  return out
}

/**
 * The `key=value` overrides (value as YAML) of the kind flags given, in argv order. `raw` is oclif's
 * parse output, which keeps that order.
 */
export function launchFlagOverrides(flags: Record<string, LaunchFlag> | undefined, values: Record<string, unknown>, raw: ReadonlyArray<{type: string; flag?: string}>): string[] {
  if (!flags) return []
  const given = [...new Set(raw.flatMap((token) => (token.type === 'flag' && token.flag && flags[token.flag] && values[token.flag] !== undefined ? [token.flag] : [])))]
  return given.map((name) => {
    const value = values[name]
    return `${flags[name].path}=${JSON.stringify(flags[name].type === 'number' ? Number(value) : value)}`
  })
}

/** A parse error where kind flags are in play → a usage error naming the flag, with the kind's flags as the hint. */
export function launchFlagParseError(error: Error, kindName: string, flags: Record<string, LaunchFlag> | undefined, toUsage: (error: Error) => {message: string}): Error {
  if (error instanceof LaunchFlagValueError) return error.usage
  if (!flags || Object.keys(flags).length === 0) return error
  const named = /--([a-z0-9][a-z0-9-]*)/i.exec(error.message)?.[1]
  if (/nonexistent flag/i.test(error.message)) {
    return new UsageError(toUsage(error).message, {hint: `Flags of the ${kindName} kind: ${describeLaunchFlags(flags)}; see rfm cloud launch --help for the rest.`})
  }
  if (named && flags[named]) return new UsageError(toUsage(error).message, {hint: `Flags of the ${kindName} kind: ${describeLaunchFlags(flags)}.`, details: {flag: named}})
  return error
}

export function describeLaunchFlags(flags: Record<string, LaunchFlag>): string {
  return Object.entries(flags)
    .map(([name, flag]) => (flag.type === 'boolean' ? `--[no-]${name}` : flag.type === 'list' ? `--${name} A B ...` : `--${name} VALUE`))
    .join(', ')
}
