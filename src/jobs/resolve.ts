import * as path from 'node:path'
import {z} from 'zod'

import {applyOverrides, parseOverride} from '../config/overrides'
import {checkResolvedSize, loadConfigFile} from '../config/load'
import {validateConfig} from '../config/validate'
import {ConfigError, NotBuiltError} from '../errors'
import type {GivenKeys, JobKind} from '../plugin-api'
import {givenKeys, splitUnknownKeys} from './given-keys'
import {coreJobShape} from './core-schema'
import type {KindEntry} from './registry'

export interface ResolvedJob {
  kind: JobKind
  plugin: {name: string; root?: string}
  /** the kind's own keys, validated, with defaults and absolute paths */
  config: Record<string, unknown>
  name?: string
  /** attempts unset: the backend's default (Backend.requestFor) */
  retries: {attempts?: number; evaluate_on_exit: Array<{on_exit_code?: string; on_signal?: string; action: 'retry' | 'exit'}>}
  timeoutSeconds?: number
  /** the config's resources key: overrides of the kind's estimate */
  resources?: {gpus?: number; cpus?: number; memory?: number}
  /** stagedFrom: each staged dataset's ref → its path as the config gave it (for the runtime's messages) */
  source: {file?: string; overrides: string[]; given?: GivenKeys; stagedFrom?: Record<string, string>}
  /** one line each: keys passed through to the script as written, possible typos */
  notices?: string[]
}

/** Config file + `--set` overrides → the kind's schema merged with the core keys → a typed job. */
export async function resolveJob(entry: KindEntry, options: {file?: string; sets?: string[]; flagSets?: string[]; cwd?: string}): Promise<ResolvedJob> {
  const {kind} = entry
  if (kind.notBuilt) {
    throw new NotBuiltError(`The ${kind.name} job kind is not built yet: ${kind.notBuilt}`, {
      hint: 'Run your own trainer meanwhile with the command kind: rfm cloud launch command -c job.yaml',
    })
  }
  const cwd = options.cwd ?? process.cwd()
  const flagOverrides = (options.flagSets ?? []).map(parseOverride)
  const setOverrides = (options.sets ?? []).map(parseOverride)
  const overrides = [...flagOverrides, ...setOverrides]
  const file = options.file ? path.resolve(cwd, options.file) : undefined
  const fileConfig = file ? await loadConfigFile(file) : {}
  let raw = applyOverrides(fileConfig, overrides)
  const schema = kind.schema.extend(coreJobShape).strict()
  const origins = givenKeys(fileConfig, flagOverrides, setOverrides)
  let extra: Record<string, unknown> = {}
  let notices: string[] = []
  // external mode: keys rfm does not know go to the script as written (with a notice), not refused
  if (kind.passesUnknownKeys?.(raw)) ({config: raw, extra, notices} = splitUnknownKeys(raw, Object.keys(schema.shape), kind.name))
  const where = options.file ?? '--set flags'
  checkResolvedSize(raw, overrides.length > 0 ? `The config (with --set)` : `Config file ${where}`)
  const valid = validateConfig(schema, raw, overrides.length > 0 && options.file ? `${where} (with --set)` : where, {
    reference: `See the keys of the ${kind.name} kind: rfm cloud launch ${kind.name} --help, or its examples/ configs.`,
  }) as z.infer<typeof schema>
  const {name, retries, timeout, resources, ...own} = valid as Record<string, unknown> & {
    name?: string
    resources?: ResolvedJob['resources']
    retries: ResolvedJob['retries']
    timeout?: number
  }
  const baseDir = file ? path.dirname(file) : cwd
  let config = own
  try {
    if (kind.prepare) config = await kind.prepare(own, baseDir)
  } catch (error) {
    // Name the file in semantic errors raised by the kind, as schema errors do.
    if (error instanceof ConfigError && error.details?.path && !error.details.source) {
      throw new ConfigError(`Config error in ${where} at ${error.details.path}: ${error.details.reason}.`, {
        hint: error.hint,
        details: {...error.details, source: where},
      })
    }
    throw error
  }
  return {
    kind,
    plugin: entry.plugin,
    config,
    name,
    retries,
    timeoutSeconds: timeout,
    ...(resources ? {resources} : {}),
    source: {file, overrides: overrides.map((o) => o.source), given: {keys: origins, extra}},
    notices,
  }
}
