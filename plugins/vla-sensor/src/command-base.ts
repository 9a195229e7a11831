/**
 * Base of the plugin's commands: the host's plugin API, config files read like rfm's, and errors
 * rendered the way rfm renders them (message + hint, exit 2 for user mistakes; {"error"} under --json).
 */
import * as path from 'node:path'

import {Command} from '@oclif/core'
import type {PluginApi, SafeParser} from 'rfm/plugin-api'

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
  readConfigFile<T>(file: string, schema: SafeParser<T>): Promise<{config: T; baseDir: string}> {
    return this.api.commands.readConfigFile(file, schema, 'See the keys in examples/vla-sensor/.')
  }

  protected override async catch(error: Error): Promise<unknown> {
    return this.api.commands.handleError(this, (json) => this.logJson(json), error)
  }
}

/** Parses a vla-sensor config file with its semantic checks. */
export async function readVlaConfig(command: VlaCommand, file: string) {
  const {checkVlaConfig, vlaConfigSchema} = await import('./config.js')
  const {config, baseDir} = await command.readConfigFile(file, vlaConfigSchema(command.pluginApi.z, command.pluginApi.trainerConfig))
  checkVlaConfig(command.pluginApi, config)
  const resolve = (p: string | null | undefined) => (p && !p.startsWith('ds:') ? path.resolve(baseDir, p) : p)
  return {config: {...config, vl_cache: resolve(config.vl_cache) ?? null, data: {...config.data, sessions_dir: resolve(config.data.sessions_dir) ?? undefined}}, baseDir}
}
