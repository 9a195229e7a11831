import {z} from 'zod'

import {ConfigError} from '../errors'
import type {PluginApi} from './index'

/** The API object handed to every plugin's job-kinds module. */
export const pluginApi: PluginApi = {
  apiVersion: 1,
  z,
  defineJobKind: (kind) => kind,
  configError: (path, message, hint) =>
    new ConfigError(`Config error at ${path}: ${message}.`, {hint, details: {path, reason: message}}),
}
