import type {JobKind, PluginApi} from '@rfm/plugin-api'

import {checkGrpoConfig, flatFromSeedBlocks, GrpoConfig, grpoConfigSchema, isExternal, LAUNCH_FLAGS} from './config'
import {grpoEvaluation} from './evaluation'
import {checkExternal, externalCommand} from './external'
import {checkGrpoData} from './launch-checks'

const FLAGS_HELP = Object.keys(LAUNCH_FLAGS)
  .map((f) => `--${f}`)
  .join(', ')

/** Job kinds of @rfm/plugin-grpo. rfm calls this with its plugin API when a job kind is needed. */
export default function kinds(api: PluginApi): JobKind[] {
  const schema = grpoConfigSchema(api.z, api.trainerConfig)
  return [
    api.defineJobKind<GrpoConfig>({
      name: 'grpo',
      summary: `GRPO on VQA with format, accuracy, reasoning (Match F1), spatial, counting and combined rewards, from an SFT checkpoint (pipelines 001, 003). Launch flags: ${FLAGS_HELP}.`,
      schema,
      launchFlags: LAUNCH_FLAGS as unknown as NonNullable<JobKind['launchFlags']>,
      datasetFields: ['dataset_name'],
      evaluation: grpoEvaluation(api, (config) => schema.parse(config)),
      // external mode hands grpo_rec.py keys rfm does not know (TRL's GRPOConfig has many) as written
      passesUnknownKeys: (raw) => api.trainerConfig.trainsExternally(raw),
      checkpointFields: ['sft_checkpoint'],
      estimate(config) {
        const c = config
        if (isExternal(c)) {
          // the pipeline's models: sized by the scheduler from a model-level workload
          const e = c.external
          const named = /(\d+(?:\.\d+)?)\s*b\b/i.exec(c.model_name_or_path.replace(/[-_]/g, ' '))
          const paramsB = e.params_b ?? (named ? Number(named[1]) : 7)
          // accelerate launch --num_processes N / deepspeed --num_gpus N / torchrun --nproc_per_node N
          const launched = api.launcherGpus(e.launcher)
          const gpus = launched ?? 1
          return {
            gpus,
            ...(launched === undefined ? {} : {gpusFixed: true}),
            gpuMemoryGiB: c.use_peft ? 24 : 80,
            cpus: 8 * gpus,
            memoryGiB: 64 * gpus,
            workload: {
              name: c.model_name_or_path,
              kind: 'grpo',
              model: {name: c.model_name_or_path, params_b: paramsB, vision_params_b: e.vision_params_b},
              method: c.use_peft ? 'lora' : 'full',
              lora_rank: c.lora_r,
              sharding: c.deepspeed ? 'zero3' : 'none',
              per_device_train_batch_size: c.per_device_train_batch_size,
              gradient_accumulation_steps: c.gradient_accumulation_steps,
              seq_len: e.seq_len,
              samples: e.samples,
              epochs: c.num_train_epochs,
              num_generations: c.num_generations,
              learning_rate: c.learning_rate,
              // the recipe's learning rate goes with its launcher's GPU count
              lr_tuned_for_gpus: gpus,
              save_steps: c.save_steps > 0 ? c.save_steps : undefined,
            },
          }
        }
        return {gpus: 0, gpuMemoryGiB: 0, cpus: 2, memoryGiB: 2, work: {samples: c.builtin.data.train_size, epochs: c.num_train_epochs, notes: `${c.num_generations} completions per prompt`}}
      },
      retention: (config) => ({saveTotalLimit: config.save_total_limit ?? undefined, bestMetric: config.eval_steps > 0 ? 'eval_reward' : undefined, greaterIsBetter: true}),
      async prepare(config, baseDir) {
        // seed 003's model/training/hardware blocks stand for flat keys
        const c = api.validate(schema, {...config, ...flatFromSeedBlocks(api, config)})
        checkGrpoConfig(api, c)
        const out: GrpoConfig = {...c, dataset_name: c.dataset_name === 'generated' ? null : c.dataset_name}
        if (!isExternal(c)) {
          if (!c.sft_checkpoint) api.checkBuiltinModel(c.builtin.model, 'builtin.model')
          await checkGrpoData(api, c, baseDir)
        }
        if (isExternal(c)) {
          checkExternal(api, c)
          const workdir = api.external.resolveDir(baseDir, c.external.workdir, 'external.workdir', "The pipeline's checkout (holding external.script), relative to the config file.")
          out.external = {...c.external, workdir}
        }
        return out
      },
      // External mode only: returning undefined runs the built-in trainer.
      // hooks get the validated config (the host parses it once per process)
      external: (config, context) => (isExternal(config) ? externalCommand(api, config, context) : undefined),
      async train(ctx) {
        // tfjs and the model load only inside the job, never at CLI start-up
        if (ctx.config.builtin.stage === 'warmup') {
          const {trainWarmup} = await import('./warmup.js')
          return trainWarmup(api, ctx)
        }
        const {trainGrpo} = await import('./train.js')
        return trainGrpo(api, ctx)
      },
    }),
  ]
}
