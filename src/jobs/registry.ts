import {existsSync} from 'node:fs'
import * as path from 'node:path'

import {BackendError, NotFoundError} from '../errors'
import {closest} from '../config/describe'
import type {JobKind, JobKindsModule, KindEvaluation} from '../plugin-api'
import {pluginApi} from '../plugin-api/host'
import {commandKind} from './command-kind'
import {CORE_KEYS} from './core-schema'
import {evalKind} from './eval-kind'

/** The package name recorded for kinds that ship inside rfm itself. */
export const CORE_PLUGIN = 'rfm'

export interface PluginInfo {
  name: string
  root: string
  /** package.json; rfm reads its `rfm.jobKinds` entry */
  pjson: object
}

export interface KindEntry {
  kind: JobKind
  plugin: {name: string; root?: string}
}

/**
 * Loads the job kinds of rfm itself and of every plugin that declares `rfm.jobKinds` in its
 * package.json. Plugin modules are loaded here, never at CLI start-up.
 */
export async function loadKinds(plugins: PluginInfo[]): Promise<Map<string, KindEntry>> {
  const kinds = new Map<string, KindEntry>()
  kinds.set('command', {kind: commandKind(pluginApi), plugin: {name: CORE_PLUGIN}})
  kinds.set('vlm', {kind: loadVlmKind(), plugin: {name: CORE_PLUGIN}})
  kinds.set('eval', {kind: evalKind(pluginApi, () => installedEvaluations(plugins)), plugin: {name: CORE_PLUGIN}})
  for (const plugin of plugins) {
    for (const kind of await loadPluginKinds(plugin)) {
      if (!kinds.has(kind.name)) kinds.set(kind.name, {kind, plugin: {name: plugin.name, root: plugin.root}})
    }
  }
  return kinds
}

/**
 * The kinds a command about one kind needs, loading as few plugin modules as it can (start-up of
 * `rfm cloud launch`): rfm's own kinds need none (a core kind wins a name clash anyway), and a plugin
 * whose package.json lists its kinds (`rfm.kinds`) is skipped when the kind is not among them. A
 * plugin that lists none is loaded. When the kind is not found this way, every plugin is loaded, so
 * the error lists all kinds.
 */
export async function loadKindsFor(kindName: string | undefined, plugins: PluginInfo[]): Promise<Map<string, KindEntry>> {
  if (kindName === undefined || kindName === 'eval') return loadKinds(plugins)
  // `command` trains nothing: the vlm kind and the trainer config it builds are left unloaded
  if (kindName === 'command') {
    return new Map([
      ['command', {kind: commandKind(pluginApi), plugin: {name: CORE_PLUGIN}}],
      ['eval', {kind: evalKind(pluginApi, () => installedEvaluations(plugins)), plugin: {name: CORE_PLUGIN}}],
    ])
  }
  const core = kindName === 'vlm'
  const candidates = core ? [] : plugins.filter((plugin) => declaredKinds(plugin)?.includes(kindName) ?? true)
  const kinds = await loadKinds(candidates)
  // eval's hooks read every plugin's evaluations when asked, whichever plugins were loaded here
  kinds.set('eval', {kind: evalKind(pluginApi, () => installedEvaluations(plugins)), plugin: {name: CORE_PLUGIN}})
  return kinds.has(kindName) ? kinds : loadKinds(plugins)
}

/** The built-in `vlm` kind, loaded with require (an `await import()` would start Node's ES module loader). */
function loadVlmKind(): JobKind {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./vlm-kind') as typeof import('./vlm-kind')).vlmKind(pluginApi)
}

/** The kind names a plugin's package.json declares (`rfm.kinds`), if it declares them. */
export function declaredKinds(plugin: PluginInfo): string[] | undefined {
  const names = (plugin.pjson as {rfm?: {kinds?: unknown}}).rfm?.kinds
  return Array.isArray(names) && names.every((n) => typeof n === 'string') ? names : undefined
}

async function loadPluginKinds(plugin: PluginInfo): Promise<JobKind[]> {
  const entry = (plugin.pjson as {rfm?: {jobKinds?: string}}).rfm?.jobKinds
  if (!entry) return []
  const file = path.resolve(plugin.root, entry)
  let loaded: JobKind[]
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(file) as {default?: JobKindsModule} | JobKindsModule
    const factory = typeof mod === 'function' ? mod : mod.default
    if (typeof factory !== 'function') throw new Error('the module does not export a function')
    loaded = await factory(pluginApi)
  } catch (error) {
    throw new BackendError(`Plugin ${plugin.name} failed to load its job kinds from ${file}: ${(error as Error).message}`, {
      hint: 'Rebuild the plugin (npm run build), or uninstall it with rfm plugins uninstall.',
    })
  }
  for (const kind of loaded) {
    const clash = Object.keys(kind.schema.shape).filter((key) => CORE_KEYS.includes(key))
    if (clash.length > 0) throw new BackendError(`Plugin ${plugin.name}: job kind ${kind.name} redefines core keys ${clash.join(', ')}.`)
  }
  return loaded
}

/**
 * The kind a run was launched with, from the plugin recorded in run.json (used inside jobs), and
 * the version of the package that provides it here.
 */
export async function loadKindForRun(plugin: {name: string; root?: string}, kindName: string): Promise<{kind: JobKind; version?: string}> {
  if (plugin.name === CORE_PLUGIN) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const {version} = require('../../../package.json') as {version?: string}
    return {kind: findKind(await loadKinds([]), kindName).kind, version}
  }
  // The folder recorded at launch exists on the launching machine; in a container, find the plugin
  // by its package name instead.
  const root = plugin.root && existsSync(path.join(plugin.root, 'package.json')) ? plugin.root : path.dirname(require.resolve(`${plugin.name}/package.json`))
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pjson = require(path.join(root, 'package.json')) as {version?: string}
  const kinds = await loadKinds([{name: plugin.name, root, pjson}])
  return {kind: findKind(kinds, kindName).kind, version: pjson.version}
}

export function findKind(kinds: Map<string, KindEntry>, name: string): KindEntry {
  const entry = kinds.get(name)
  if (entry) return entry
  const suggestion = closest(name, kinds.keys())
  throw new NotFoundError(`Unknown job kind "${name}".`, {
    code: 'UNKNOWN_KIND',
    hint: `${suggestion ? `Did you mean "${suggestion}"? ` : ''}Job kinds: ${[...kinds.keys()].join(', ')}.`,
  })
}

/**
 * The evaluation hooks of every kind that has them (JobKind.evaluation), for the `eval` kind: the
 * plugins given (the CLI's), or inside a job the plugins rfm ships (its package.json oclif.plugins).
 */
export async function installedEvaluations(plugins: PluginInfo[]): Promise<Map<string, KindEvaluation>> {
  let list = plugins
  if (list.length === 0) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const names = ((require('../../../package.json') as {oclif?: {plugins?: string[]}}).oclif?.plugins ?? []).filter((n) => n.startsWith('@rfm/'))
    list = names.flatMap((name) => {
      try {
        const root = path.dirname(require.resolve(`${name}/package.json`))
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return [{name, root, pjson: require(path.join(root, 'package.json')) as object}]
      } catch {
        return []
      }
    })
  }
  const out = new Map<string, KindEvaluation>()
  for (const plugin of list) for (const kind of await loadPluginKinds(plugin)) if (kind.evaluation && !out.has(kind.name)) out.set(kind.name, kind.evaluation)
  return out
}
