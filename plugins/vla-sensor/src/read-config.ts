/** A vla-sensor config as the plugin's commands read it: -c FILE and --set like `rfm cloud launch`, then the semantic checks. */
import * as path from 'node:path'

import type {RfmPluginCommand} from '@rfm/plugin-kit'

export async function readVlaConfig(command: RfmPluginCommand, source: {file?: string; sets?: string[]}) {
  const {checkVlaConfig, vlaConfigSchema} = await import('./config.js')
  const {config, baseDir} = await command.readConfig(source, vlaConfigSchema(command.api.z, command.api.trainerConfig), 'See the keys in examples/vla-sensor/.')
  checkVlaConfig(command.api, config)
  const resolve = (p: string | null | undefined) => (p && !p.startsWith('ds:') ? path.resolve(baseDir, p) : p)
  return {config: {...config, vl_cache: resolve(config.vl_cache) ?? null, data: {...config.data, sessions_dir: resolve(config.data.sessions_dir) ?? undefined}}, baseDir}
}
