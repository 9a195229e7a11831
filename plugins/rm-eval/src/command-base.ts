/**
 * Base of the plugin's commands: the host's plugin API, config files read like rfm's, and errors
 * rendered the way rfm renders them (message + hint, exit 2 for user mistakes; {"error"} under --json).
 */
import * as path from 'node:path'

import {Command} from '@oclif/core'
import type {PluginApi, SafeParser} from 'rfm/plugin-api'

export abstract class RmEvalCommand extends Command {
  static override enableJsonFlag = true

  protected get api(): PluginApi {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path.join(this.config.root, 'dist/src/plugin-api/host.js')).pluginApi as PluginApi
  }

  /** Parses a YAML/JSON config against `schema`; errors name the key. */
  protected readConfig<T>(file: string, schema: SafeParser<T>): Promise<{config: T; baseDir: string}> {
    return this.api.commands.readConfigFile(file, schema, 'See the keys in examples/rm-eval/.')
  }

  protected override async catch(error: Error): Promise<unknown> {
    return this.api.commands.handleError(this, (json) => this.logJson(json), error)
  }
}
