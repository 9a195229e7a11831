import type {JobKind, PluginApi} from '@rfm/plugin-api'

import {checkBuiltin, checkTrainerMode, isExternal, SftConfig, sftConfigSchema} from './config'
import {estimate} from './estimate'
import {checkSftData} from './launch-checks'
import {externalCommand} from './external'
import {flatFromSeedBlocks} from './seed-config'

/** Job kinds of @rfm/plugin-sft. rfm calls this with its plugin API when a job kind is needed. */
export default function kinds(api: PluginApi): JobKind[] {
  const schema = sftConfigSchema(api.z, api.trainerConfig)
  return [
    api.defineJobKind<SftConfig>({
      name: 'sft',
      summary:
        'SFT and DPO of VLMs on robot-reward VQA and spatial scenes (pipelines 000, 003): the built-in compact VLM, or the pipeline script (trainer_mode: external, trainer.external). Flags: --stage sft|dpo, --sft-checkpoint RUN[@step].',
      schema,
      launchFlags: {
        stage: {path: 'stage', type: 'string', options: ['sft', 'dpo'], description: 'sft, or dpo from an SFT checkpoint (config key stage).'},
        'sft-checkpoint': {path: 'sft_checkpoint', type: 'string', description: 'DPO: the SFT model, RUN[@step|best|final|latest] (config key sft_checkpoint).'},
        'max-samples': {path: 'max_samples', type: 'number', description: "Quick validation: at most N samples (external: the script's --max_samples N)."},
      },
      datasetFields: ['dataset_path', 'eval_dataset_path'],
      // external mode hands the script keys rfm does not know (optim, dataloader_num_workers, ...) as written
      passesUnknownKeys: (raw) => {
        const e = (raw.trainer as {external?: {pass_config?: unknown}} | undefined)?.external
        return api.trainerConfig.trainsExternally(raw) && typeof e === 'object' && e !== null && e.pass_config !== false
      },
      estimate: (config) => estimate(config, api.launcherGpus),
      retention: (config) => ({saveTotalLimit: config.save_total_limit, bestMetric: 'eval_loss', greaterIsBetter: false}),
      checkpointFields: ['sft_checkpoint'],
      async prepare(config, baseDir) {
        // seed 003's model/training/hardware blocks stand for flat keys (the built-in trainer and the planner read those)
        const c = api.validate(schema, {...config, ...flatFromSeedBlocks(api, config)})
        config = c
        checkTrainerMode(api, c)
        const e = c.trainer.external
        if (!isExternal(c) || !e) {
          checkBuiltin(api, c)
          if (!c.sft_checkpoint) api.checkBuiltinModel(c.builtin.model, 'builtin.model')
          await checkSftData(api, c, baseDir)
          return config
        }
        const workdir = api.external.resolveDir(baseDir, e.workdir, 'trainer.external.workdir', "workdir is resolved relative to the config file's folder.")
        return {...config, trainer: {...c.trainer, external: {...e, workdir}}}
      },
      // hooks get the validated config (the host parses it once per process)
      external: (config, context) => (isExternal(config) ? externalCommand(api, config, context.given, context.runId) : undefined),
      async train(ctx) {
        // tfjs and the model load only inside the job, never at CLI start-up
        const c = ctx.config
        if (isExternal(c)) throw new Error('an external-mode config is run by the runtime as a command, not by the built-in trainer')
        const {trainSft} = await import('./train/run.js')
        const result = await trainSft(api, ctx, c)
        return {backend: result.backend, step: result.step, finished: result.finished}
      },
    }),
  ]
}
