import {statSync} from 'node:fs'
import * as path from 'node:path'

import type {JobKind, PluginApi} from 'rfm/plugin-api'

import {checkBuiltin, isExternal, SftConfig, sftConfigSchema} from './config'
import {estimate} from './estimate'
import {checkSftData} from './launch-checks'
import {externalCommand} from './external'

/** Job kinds of @rfm/plugin-sft. rfm calls this with its plugin API when a job kind is needed. */
export default function kinds(api: PluginApi): JobKind[] {
  const schema = sftConfigSchema(api.z)
  return [
    api.defineJobKind<SftConfig>({
      name: 'sft',
      summary:
        'SFT and DPO of VLMs on robot-reward VQA and spatial scenes (pipelines 000, 003): the built-in compact VLM, or the pipeline script (trainer.external). Flags: --stage sft|dpo, --sft-checkpoint RUN[@step].',
      schema,
      launchFlags: {
        stage: {path: 'stage', type: 'string', options: ['sft', 'dpo'], description: 'sft, or dpo from an SFT checkpoint (config key stage).'},
        'sft-checkpoint': {path: 'sft_checkpoint', type: 'string', description: 'DPO: the SFT model, RUN[@step|best|final|latest] (config key sft_checkpoint).'},
      },
      datasetFields: ['dataset_path', 'eval_dataset_path'],
      checkpointFields: ['sft_checkpoint'],
      estimate: (config) => estimate(config),
      retention: (config) => ({saveTotalLimit: config.save_total_limit, bestMetric: 'eval_loss', greaterIsBetter: false}),
      async prepare(config, baseDir) {
        const c = schema.parse(config)
        const e = c.trainer.external
        if (!e) {
          checkBuiltin(api, c)
          if (!c.sft_checkpoint) api.checkBuiltinModel(c.builtin.model, 'builtin.model')
          await checkSftData(api, c, baseDir)
          return config
        }
        const workdir = path.resolve(baseDir, e.workdir)
        let isDir = false
        try {
          isDir = statSync(workdir).isDirectory()
        } catch {}
        if (!isDir) throw api.configError('trainer.external.workdir', `${workdir} is not a directory`, 'workdir is resolved relative to the config file\'s folder.')
        return {...config, trainer: {...c.trainer, external: {...e, workdir}}}
      },
      external: (config) => externalCommand(schema.parse(config)),
      async train(ctx) {
        // tfjs and the model load only inside the job, never at CLI start-up
        const c = schema.parse(ctx.config)
        if (isExternal(c)) throw new Error('an external-mode config is run by the runtime as a command, not by the built-in trainer')
        const {trainSft} = await import('./train/run.js')
        const result = await trainSft(api, ctx, c)
        return {backend: result.backend, step: result.step, finished: result.finished}
      },
    }),
  ]
}
