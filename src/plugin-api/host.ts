import {z} from 'zod'

import * as errors from '../errors'
import {launcherGpus} from '../jobs/launcher-gpus'
import {configErrorAt, pluginCommandSupport} from './commands'
import type {PluginApi} from './index'

/**
 * The API object handed to every plugin's job-kinds module. A plugin's oclif commands get the same
 * object from the host CLI: `require(path.join(this.config.root, 'dist/src/plugin-api/host.js')).pluginApi`.
 */
export const pluginApi: PluginApi = {
  apiVersion: 1,
  z,
  defineJobKind: (kind) => kind,
  loadTrainer: () => import('../trainer/index.js'),
  loadFormats: () => import('../formats/index.js'),
  loadGrader: () => import('../grader/index.js'),
  errors,
  configError: configErrorAt,
  commands: pluginCommandSupport,
  launcherGpus,
}
