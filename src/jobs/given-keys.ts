/**
 * What the user set, and where: the external mode passes a pipeline script exactly the keys the
 * user wrote (config file, a kind's launch flag, or --set) and leaves every other key to the
 * script's own default. Keys rfm does not know are passed through in external mode (HF
 * TrainingArguments such as optim, save_total_limit) instead of being refused.
 */
import {closest} from '../config/describe'
import type {Override} from '../config/overrides'
import type {KeyOrigin} from '../plugin-api'

/** Top-level keys of the config file and of the overrides, each with where its last value came from. */
export function givenKeys(fileConfig: Record<string, unknown>, flagOverrides: Override[], setOverrides: Override[]): Record<string, KeyOrigin> {
  const origins: Record<string, KeyOrigin> = {}
  for (const key of Object.keys(fileConfig)) origins[key] = 'file'
  for (const o of flagOverrides) origins[o.path[0]] = 'flag'
  for (const o of setOverrides) origins[o.path[0]] = 'set'
  return origins
}

/**
 * Splits the top-level keys the schema does not know (`known`) off a raw config. Each gets a
 * one-line notice; one that looks like a misspelt known key says so (did-you-mean).
 */
export function splitUnknownKeys(raw: Record<string, unknown>, known: Iterable<string>, kindName: string): {config: Record<string, unknown>; extra: Record<string, unknown>; notices: string[]} {
  const knownSet = new Set(known)
  const config: Record<string, unknown> = {}
  const extra: Record<string, unknown> = {}
  const notices: string[] = []
  for (const [key, value] of Object.entries(raw)) {
    if (knownSet.has(key)) {
      config[key] = value
      continue
    }
    extra[key] = value
    const near = closest(key, knownSet)
    notices.push(
      near
        ? `warning: "${key}" is not a key of ${kindName}; did you mean "${near}"? It is passed to the script as written.`
        : `note: "${key}" is not a key rfm knows; passed to the script as written (external mode).`,
    )
  }
  return {config, extra, notices}
}
