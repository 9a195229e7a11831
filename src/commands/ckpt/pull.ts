import * as path from 'node:path'
import {Args, Flags} from '../../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../../cli/base-command'
import {chooseCheckpoint, pullCheckpoint, type CheckpointChoice} from '../../checkpoint/pull'
import {CheckpointStore} from '../../checkpoint/store'

export default class CkptPull extends RfmCommand {
  static override summary = "Download a run's checkpoint (the newest by default) into a folder, verifying every file."
  static override examples = ['<%= config.bin %> ckpt pull command-20261122-153012-ab12 ./ckpt', '<%= config.bin %> ckpt pull command-20261122-153012-ab12 ./best --best']
  static override args = {
    run: Args.string({required: true, description: 'Run id.'}),
    dir: Args.string({required: true, description: "Folder to write the checkpoint's files into."}),
  }
  static override flags = {
    step: Flags.integer({description: 'This step.', min: 0, exclusive: ['best', 'final']}),
    best: Flags.boolean({description: "The best checkpoint by the run's metric.", exclusive: ['step', 'final']}),
    final: Flags.boolean({description: 'The final checkpoint of a finished run.', exclusive: ['step', 'best']}),
    'array-index': Flags.integer({description: 'A child of an array job (AWS Batch --array): its checkpoints are kept apart, under the run.', min: 0, helpValue: 'N'}),
    profile: profileFlag,
  }

  async run(): Promise<{run: string; step: number; dir: string; files: string[]}> {
    const {args, flags} = await this.parse(CkptPull)
    const ctx = await this.context(flags.profile)
    const run = await ctx.runs.get(args.run)
    const checkpoints = new CheckpointStore(ctx.runs.store, flags['array-index'] === undefined ? run.id : `${run.id}/array-${flags['array-index']}`)
    const choice: CheckpointChoice = flags.step !== undefined ? {step: flags.step} : flags.best ? {pointer: 'best'} : flags.final ? {pointer: 'final'} : 'latest'
    const checkpoint = await chooseCheckpoint(checkpoints, choice)
    const dir = path.resolve(args.dir)
    const files = await pullCheckpoint(checkpoints, checkpoint, dir)
    this.log(`Pulled step ${checkpoint.step} of ${run.id} (${files.length} files, verified) into ${dir}`)
    return {run: run.id, step: checkpoint.step, dir, files}
  }
}
