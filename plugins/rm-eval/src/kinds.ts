import type {JobKind, PluginApi} from '@rfm/plugin-api'

import {externalCommand, isExternal} from './external'
import {estimateKind, kindSchema, prepareKindConfig} from './kind-config'

/** Job kinds of @rfm/plugin-rm-eval. rfm calls this with its plugin API when a job kind is needed. */
export default function kinds(api: PluginApi): JobKind[] {
  return [
    api.defineJobKind({
      name: 'rm-eval',
      summary:
        "Train a VLM reward model (Bradley-Terry, irrelevant-query augmentation) with the built-in trainer or the pipeline's train_rm.py (external mode, size presets 3B–72B); mode: eval (launch flag --eval) evaluates every checkpoint (pipeline 004).",
      schema: kindSchema(api.z, api.trainerConfig),
      estimate: (config) => estimateKind(api, config),
      prepare: (config, baseDir) => prepareKindConfig(api, config, baseDir),
      datasetFields: ['dataset_path', 'external.workdir'],
      // external mode: HF / TRL keys rfm does not know (save_total_limit, report_to, ...) go into the script's YAML as written
      passesUnknownKeys: (raw) => isExternal(raw),
      launchFlags: {
        eval: {path: 'mode', type: 'boolean', description: 'Evaluate every checkpoint of model_dirs (mode: eval) instead of training; with --array N on AWS Batch, N children share the checkpoints.'},
        'max-samples': {path: 'max_train_samples', type: 'number', description: "Quick validation: train on at most N records (the seed's max_train_samples key)."},
      },
      // undefined: the config trains with the built-in trainer (train below)
      external: (config, context) => externalCommand(api, config, context),
      async train(ctx) {
        // tfjs and the model load only inside the job, never at CLI start-up
        if (ctx.config.mode === 'eval') {
          const {evaluateInJob, runSources} = await import('./eval-job.js')
          return evaluateInJob(api, ctx, runSources(ctx))
        }
        const {trainRewardModel} = await import('./train.js')
        const result = await trainRewardModel(api, ctx)
        return {backend: result.backend, step: result.step, finished: result.finished}
      },
    }),
  ]
}
