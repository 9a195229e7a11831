import {z} from 'zod'

import * as errors from '../errors'
import {validateConfig} from '../config/validate'
import {trainerModeShape, trainsExternally} from '../jobs/core-schema'
import {externalArgsKit} from '../jobs/external-args'
import {launcherGpus} from '../jobs/launcher-gpus'
import {checkModelShape} from '../jobs/model-shape'
import {arraySlot, shareOf} from '../runtime/protocol'
import {configErrorAt, pluginCommandSupport} from './commands'
import {pluginCheckpoints, pluginRuns} from './runs'
import type {ErrorsCore, FormatsCore, GraderCore, PluginApi, TrainerCore} from './index'

/**
 * The API object handed to every plugin's job-kinds module. A plugin's oclif commands get the same
 * object through the command base of `@rfm/plugin-kit`, which resolves this module as `rfm/plugin-host`
 * (an `exports` entry of the host's package.json), never by a path into dist/.
 */
let trainerConfig: PluginApi['trainerConfig'] | undefined

export const pluginApi: PluginApi = {
  apiVersion: 1,
  z,
  defineJobKind: (kind) => kind,
  // each module implements its contract interface: conformance.ts proves it at compile time
  loadTrainer: () => import('../trainer/index.js') as Promise<unknown> as Promise<TrainerCore>,
  loadFormats: () => import('../formats/index.js') as Promise<unknown> as Promise<FormatsCore>,
  loadGrader: () => import('../grader/index.js') as Promise<unknown> as Promise<GraderCore>,
  errors: errors as unknown as ErrorsCore,
  configError: configErrorAt,
  validate(schema, data) {
    try {
      return validateConfig(schema, data, 'config')
    } catch (error) {
      const first = (error as errors.ConfigError).details?.problems as Array<{path: string; message: string}> | undefined
      if (!(error instanceof errors.ConfigError) || !first?.[0]) throw error
      throw configErrorAt(first[0].path, first[0].message, error.hint)
    }
  },
  checkBuiltinModel(m, prefix) {
    const at = (key: string, value: number) => ({key: `${prefix}.${key}`, value})
    const vision =
      m.image_size !== undefined && m.patch_size !== undefined && m.vision_width !== undefined
        ? {image_size: at('image_size', m.image_size), patch_size: at('patch_size', m.patch_size), width: at('vision_width', m.vision_width), heads: at('heads', m.heads)}
        : undefined
    checkModelShape({width: at('width', m.width), heads: at('heads', m.heads), ...(vision ? {vision} : {})})
  },
  commands: pluginCommandSupport,
  runs: pluginRuns,
  checkpoints: pluginCheckpoints,
  launcherGpus,
  // --- trainer-facing config the core owns (issue 22 item 2) ---
  // built on first use: its zod schemas cost ~4 ms that `rfm cloud launch command` does not need
  get trainerConfig() {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const {trainerConfigKit} = require('../trainer/builtin-config') as typeof import('../trainer/builtin-config')
    trainerConfig ??= {...trainerConfigKit, trainerModeShape, trainsExternally}
    return trainerConfig
  },
  // --- end trainer-facing config ---
  external: externalArgsKit,
  runtime: {arraySlot, shareOf},
}
