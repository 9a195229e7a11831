/**
 * Base of the plugin's commands: the host's plugin API, config files read like rfm's, and errors
 * rendered the way rfm renders them (message + hint, exit 2 for user mistakes; {"error"} under --json).
 */
import {readFileSync} from 'node:fs'
import * as path from 'node:path'

import {Command} from '@oclif/core'
import type {PluginApi} from 'rfm/plugin-api'

export abstract class VlaCommand extends Command {
  static override enableJsonFlag = true

  get pluginApi(): PluginApi {
    return this.api
  }

  protected get api(): PluginApi {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path.join(this.config.root, 'dist/src/plugin-api/host.js')).pluginApi as PluginApi
  }

  /** Parses a YAML/JSON config against `schema`; errors name the key. */
  async readConfigFile<T>(file: string, schema: {safeParse(v: unknown): {success: true; data: T} | {success: false; error: {issues: {path: (string | number)[]; message: string}[]}}}): Promise<{config: T; baseDir: string}> {
    const {ConfigError, NotFoundError} = this.api.errors
    const full = path.resolve(file)
    let text: string
    try {
      text = readFileSync(full, 'utf8')
    } catch {
      throw new NotFoundError(`Config file ${full} not found.`, {hint: 'Pass the path of a YAML config.'})
    }
    const {parse} = await import('yaml')
    let raw: unknown
    try {
      raw = parse(text)
    } catch (error) {
      throw new ConfigError(`Config file ${full} is not valid YAML: ${(error as Error).message.split('\n')[0]}`, {hint: 'Check the indentation and quoting.'})
    }
    const parsed = schema.safeParse(raw ?? {})
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw this.api.configError(issue.path.join('.') || '(root)', issue.message, 'See the keys in examples/vla-sensor/.')
    }
    return {config: parsed.data, baseDir: path.dirname(full)}
  }

  protected override async catch(error: Error & {exitCode?: number; hint?: string; toJSON?: () => unknown; code?: string}): Promise<unknown> {
    if (error.code === 'EEXIT') throw error
    const known = typeof error.toJSON === 'function' && typeof error.exitCode === 'number'
    const exitCode = known ? error.exitCode! : (error as {oclif?: {exit?: number}}).oclif?.exit === 2 ? 2 : 1
    const message = known ? error.message : `${error.message}`
    process.exitCode = exitCode
    if (this.jsonEnabled()) {
      this.logJson({error: known ? error.toJSON!() : {name: error.name, code: exitCode === 2 ? 'USAGE' : 'INTERNAL', message, exitCode}})
      return undefined
    }
    process.stderr.write(`Error: ${message}\n${error.hint ? `Hint: ${error.hint}\n` : ''}`)
    return this.exit(exitCode)
  }
}

/** Parses a vla-sensor config file with its semantic checks. */
export async function readVlaConfig(command: VlaCommand, file: string) {
  const {checkVlaConfig, vlaConfigSchema} = await import('./config.js')
  const {config, baseDir} = await command.readConfigFile(file, vlaConfigSchema(command.pluginApi.z))
  checkVlaConfig(command.pluginApi, config)
  const resolve = (p: string | null | undefined) => (p && !p.startsWith('ds:') ? path.resolve(baseDir, p) : p)
  return {config: {...config, vl_cache: resolve(config.vl_cache) ?? null, data: {...config.data, sessions_dir: resolve(config.data.sessions_dir) ?? undefined}}, baseDir}
}
