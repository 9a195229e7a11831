import {Args, Flags} from '../../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../../cli/base-command'
import {listOutputs, pullOutputs, type RunOutputs} from '../../outputs/pull'
import {formatBytes} from '../../staging/progress'

export default class Outputs extends RfmCommand {
  static override summary = "List a run's outputs (final model, logs, TensorBoard, eval results), or pull them into DIR."
  static override description =
    "Outputs are what the trainer writes besides its checkpoints, uploaded at the end of every attempt (the config's outputs key; each kind has defaults). Without DIR the files of the newest attempt that uploaded any are listed."
  static override examples = ['<%= config.bin %> cloud outputs sft-20261204-101500-ab12', '<%= config.bin %> cloud outputs sft-20261204-101500-ab12 ./results --attempt 2']
  static override args = {
    run: Args.string({required: true, description: 'Run id.'}),
    dir: Args.string({description: 'Folder to pull the outputs into.'}),
  }
  static override flags = {
    attempt: Flags.integer({description: 'The attempt whose outputs to list or pull (default: the newest with outputs).', min: 1, helpValue: 'N'}),
    profile: profileFlag,
  }

  async run(): Promise<RunOutputs & {pulledTo?: string}> {
    const {args, flags} = await this.parse(Outputs)
    const ctx = await this.context(flags.profile)
    const run = await ctx.runs.get(args.run)
    const outputs = await listOutputs(ctx.runs.store, run.id, flags.attempt)
    if (args.dir) {
      await pullOutputs(ctx.runs.store, outputs, args.dir)
      this.log(`Pulled ${outputs.files.length} file(s) of attempt ${outputs.attempt} of ${run.id} into ${args.dir}.`)
      return {...outputs, pulledTo: args.dir}
    }
    this.log(`Outputs of ${run.id}, attempt ${outputs.attempt} (attempts with outputs: ${outputs.attempts.join(', ')}):`)
    for (const f of outputs.files) this.log(`  ${formatBytes(f.size).padStart(10)}  ${f.path}`)
    return outputs
  }
}
