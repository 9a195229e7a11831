import {parse as parseYaml} from '../vendor/yaml'

import {UsageError} from '../errors'
import {checkResolvedSize} from './load'

export interface Override {
  path: string[]
  value: unknown
  /** the flag as given, for messages and the run record */
  source: string
}

const KEY_PATH = /^[A-Za-z_][\w-]*(\.[\w-]+)*$/
/** Keys that would reach Object.prototype through plain objects (prototype pollution). */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])
const MAX_OVERRIDE_CHARS = 64 * 1024

/**
 * Parses `--set a.b=c`. Values are YAML scalars or flow collections, so `3` is a number, `true` a
 * boolean, `[0.7,0.3,0.0]` a list and `"3"` a string, as in the seed pipelines' config_overrides.
 */
export function parseOverride(flag: string): Override {
  const eq = flag.indexOf('=')
  const key = eq === -1 ? flag : flag.slice(0, eq)
  if (eq === -1 || !KEY_PATH.test(key)) {
    throw new UsageError(`--set ${flag}: expected KEY=VALUE with a dotted key such as training.learning_rate=1e-4.`, {
      hint: 'Quote the whole flag in your shell when the value has spaces: --set "name=my run".',
      details: {flag: '--set', given: flag},
    })
  }
  const forbidden = key.split('.').find((part) => FORBIDDEN_KEYS.has(part))
  if (forbidden) {
    throw new UsageError(`--set ${flag}: "${forbidden}" is not a config key.`, {
      hint: 'Keys are the names shown by rfm cloud launch KIND --dry-run; __proto__, constructor and prototype are never among them.',
      details: {flag: '--set', given: flag},
    })
  }
  if (flag.length > MAX_OVERRIDE_CHARS) {
    throw new UsageError(`--set ${key}=…: the value is ${flag.length} characters long; a --set flag may have at most ${MAX_OVERRIDE_CHARS}.`, {
      hint: 'Put long values in the config file.',
      details: {flag: '--set', given: key},
    })
  }
  const raw = flag.slice(eq + 1)
  let value: unknown
  try {
    value = raw === '' ? '' : parseYaml(raw, {maxAliasCount: 1000})
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')
    throw new UsageError(`--set ${flag}: the value ${JSON.stringify(raw)} does not parse (${reason}).`, {
      hint: 'Values are YAML: lists as [a, b], strings with special characters in quotes.',
      details: {flag: '--set', given: flag},
    })
  }
  try {
    checkResolvedSize(value, `--set ${key}`)
  } catch (error) {
    throw new UsageError((error as Error).message, {hint: (error as {hint?: string}).hint, details: {flag: '--set', given: key}})
  }
  return {path: key.split('.'), value, source: flag}
}

/** Applies overrides to a copy of the config, creating mappings along the way. */
export function applyOverrides(config: Record<string, unknown>, overrides: Override[]): Record<string, unknown> {
  const result = structuredClone(config)
  for (const override of overrides) {
    let node: Record<string, unknown> = result
    override.path.forEach((part, i) => {
      if (i === override.path.length - 1) {
        node[part] = override.value
        return
      }
      const next = node[part]
      if (next === undefined || next === null) node[part] = {}
      else if (typeof next !== 'object') {
        throw new UsageError(`--set ${override.source}: ${override.path.slice(0, i + 1).join('.')} is a single value, so it has no key "${override.path[i + 1]}".`, {
          hint: `Set ${override.path.slice(0, i + 1).join('.')} itself, or check the key's spelling.`,
          details: {flag: '--set', given: override.source},
        })
      }
      node = node[part] as Record<string, unknown>
    })
  }
  return result
}
