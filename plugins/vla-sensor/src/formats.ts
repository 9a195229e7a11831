/** The core formats module (numpy, images), reached through the plugin API (loaded lazily). */
import type {PluginApi} from '@rfm/plugin-api'

export type Formats = Awaited<ReturnType<PluginApi['loadFormats']>>

export function loadFormats(api: Pick<PluginApi, 'loadFormats'>): Promise<Formats> {
  return api.loadFormats()
}
