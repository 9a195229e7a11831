/** The rm-eval plugin's built modules (plugins build after the core; tests load their dist at run time). */
import * as path from 'node:path'

import {pluginApi} from '../../src/plugin-api/host'
import type {TrainerContext, TrainResult} from '../../src/plugin-api'

const dist = path.join(__dirname, '..', '..', '..', 'plugins', 'rm-eval', 'dist')

export interface EvalRow {
  model_dir: string
  checkpoint: string
  step: number | null
  preference_accuracy: number | null
  avg_margin: number | null
  margin_std: number | null
  sample_count: number
  status: 'ok' | 'error'
  error: string | null
}

export const rmEval = {
  api: pluginApi,
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  train: require(path.join(dist, 'train.js')) as {trainRewardModel(api: typeof pluginApi, ctx: TrainerContext): Promise<TrainResult>},
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  data: require(path.join(dist, 'preference-data.js')) as {
    preferencePair(core: unknown, seed: number, index: number, imageSize: number): {image: Float32Array; query: string; chosen: string; rejected: string}
    irrelevantPair(core: unknown, seed: number, index: number, k: number, imageSize: number): {image: Float32Array; query: string; chosen: string; rejected: string}
    NO_MATCH: string
  },
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  records: require(path.join(dist, 'records.js')) as {
    readPreferenceRecords(api: typeof pluginApi, datasetPath: string, options?: {minPixels?: number; maxPixels?: number; limit?: number}): Promise<{source: string; query: string; chosen: string; rejected: string; image: {width: number; height: number; data: Uint8Array}}[]>
  },
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  kinds: (require(path.join(dist, 'kinds.js')) as {default: (api: typeof pluginApi) => unknown[]}).default,
  /** `rfm rm-eval train`'s checkpoint folders: the host's api.checkpoints.local(dir) */
  local: {LocalCheckpoints: function (dir: string) {
    return pluginApi.checkpoints.local(dir)
  } as unknown as new (dir: string) => ReturnType<typeof pluginApi.checkpoints.local>},
}
