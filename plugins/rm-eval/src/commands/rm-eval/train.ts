import * as path from 'node:path'
import {mkdtempSync} from 'node:fs'
import * as os from 'node:os'
import {Args} from '@oclif/core'
import {configFlags, RfmPluginCommand} from '@rfm/plugin-kit'

import {trainConfigSchema} from '../../config'

export default class RmEvalTrain extends RfmPluginCommand {
  static override summary = 'Train the built-in reward model here, writing checkpoint-<step> folders into output_dir (resumes from the newest).'
  static override examples = ['<%= config.bin %> rm-eval train examples/rm-eval/train.yaml']
  static override args = {config: Args.string({required: false, description: "Training config (YAML, the pipeline's keys); or -c FILE."})}
  static override flags = {...configFlags}

  async run(): Promise<{output_dir: string; step: number; finished: boolean; backend: string; eval: Record<string, number>}> {
    const {args, flags} = await this.parse(RmEvalTrain)
    if (args.config && flags.config) throw new this.api.errors.UsageError('Give the config once: as the argument or as -c FILE.', {hint: 'rfm rm-eval train CONFIG [--set KEY=VALUE ...]'})
    const {config, baseDir} = await this.readConfig({file: args.config ?? flags.config, sets: flags.set}, trainConfigSchema(this.api.z, this.api.trainerConfig), 'See the keys in examples/rm-eval/.')
    const outputDir = path.resolve(baseDir, config.output_dir ?? 'rm_output')
    if (config.dataset_path !== 'generated') config.dataset_path = path.resolve(baseDir, config.dataset_path)
    const checkpoints = this.api.checkpoints.local(outputDir)
    let stop = false
    const onSignal = () => (stop = true)
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    const {trainRewardModel} = await import('../../train.js')
    const result = await trainRewardModel(this.api, {
      runId: path.basename(outputDir),
      attempt: 1,
      config: config as unknown as Record<string, unknown>,
      checkpoints,
      workDir: mkdtempSync(path.join(os.tmpdir(), 'rfm-rm-')),
      stopRequested: () => stop,
      logMetrics: (step, values) => {
        if ('eval_accuracy' in values)
          this.log(
            `step ${step}: ${Object.entries(values)
              .map(([k, v]) => `${k} ${Number(v).toFixed(4)}`)
              .join(', ')}`,
          )
      },
      log: (line) => this.log(line),
    })
    this.log(`${result.finished ? 'Finished' : 'Stopped'} at step ${result.step}; checkpoints in ${outputDir}`)
    return {output_dir: outputDir, step: result.step, finished: result.finished, backend: result.backend, eval: result.evalMetrics ?? {}}
  }
}
