import type {JobKind, PluginApi} from 'rfm/plugin-api'

import {checkTrainConfig, trainConfigSchema} from './config'

/** Job kinds of @rfm/plugin-rm-eval. rfm calls this with its plugin API when a job kind is needed. */
export default function kinds(api: PluginApi): JobKind[] {
  return [
    api.defineJobKind({
      name: 'rm-eval',
      summary: 'Train a VLM reward model (Bradley-Terry, irrelevant-query augmentation) with the built-in trainer (pipeline 004).',
      schema: trainConfigSchema(api.z),
      estimate: () => ({gpus: 0, gpuMemoryGiB: 0, cpus: 2, memoryGiB: 2}),
      prepare(config) {
        checkTrainConfig(api, trainConfigSchema(api.z).parse(config))
        return config
      },
      async train(ctx) {
        // tfjs and the model load only inside the job, never at CLI start-up
        const {trainRewardModel} = await import('./train.js')
        const result = await trainRewardModel(api, ctx)
        return {backend: result.backend, step: result.step, finished: result.finished}
      },
    }),
  ]
}
