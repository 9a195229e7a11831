import * as path from 'node:path'
import {mkdtempSync} from 'node:fs'
import * as os from 'node:os'
import {Args} from '@oclif/core'

import {RmEvalCommand} from '../../command-base'
import {trainConfigSchema} from '../../config'
import {LocalCheckpoints} from '../../local-checkpoints'

export default class RmEvalTrain extends RmEvalCommand {
  static override summary = 'Train the built-in reward model here, writing checkpoint-<step> folders into output_dir (resumes from the newest).'
  static override examples = ['<%= config.bin %> rm-eval train examples/rm-eval/train.yaml']
  static override args = {config: Args.string({required: true, description: 'Training config (YAML, the pipeline\'s keys).'})}

  async run(): Promise<{output_dir: string; step: number; finished: boolean; backend: string; eval: Record<string, number>}> {
    const {args} = await this.parse(RmEvalTrain)
    const {config, baseDir} = await this.readConfig(args.config, trainConfigSchema(this.api.z, this.api.trainerConfig))
    const outputDir = path.resolve(baseDir, config.output_dir ?? 'rm_output')
    if (config.dataset_path !== 'generated') config.dataset_path = path.resolve(baseDir, config.dataset_path)
    const checkpoints = new LocalCheckpoints(outputDir)
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
        if ('eval_accuracy' in values) this.log(`step ${step}: ${Object.entries(values).map(([k, v]) => `${k} ${Number(v).toFixed(4)}`).join(', ')}`)
      },
      log: (line) => this.log(line),
    })
    this.log(`${result.finished ? 'Finished' : 'Stopped'} at step ${result.step}; checkpoints in ${outputDir}`)
    return {output_dir: outputDir, step: result.step, finished: result.finished, backend: result.backend, eval: result.evalMetrics ?? {}}
  }
}
