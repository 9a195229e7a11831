import {Args, Flags} from '../../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../../cli/base-command'
import {table} from '../../cli/render'
import {checkpointRows, type CheckpointRow} from '../../checkpoint/rows'

export default class CkptLs extends RfmCommand {
  static override summary = 'List the committed checkpoints of a run, with best and final marked.'
  static override examples = ['<%= config.bin %> ckpt ls command-20261122-153012-ab12']
  static override args = {run: Args.string({required: true, description: 'Run id.'})}
  static override flags = {
    'array-index': Flags.integer({description: 'A child of an array job (AWS Batch --array): its checkpoints are kept apart, under the run.', min: 0, helpValue: 'N'}),
    profile: profileFlag,
  }

  async run(): Promise<{run: string; checkpoints: CheckpointRow[]}> {
    const {args, flags} = await this.parse(CkptLs)
    const ctx = await this.context(flags.profile)
    const run = await ctx.runs.get(args.run)
    const rows = await checkpointRows(ctx.runs.store, flags['array-index'] === undefined ? run.id : `${run.id}/array-${flags['array-index']}`)
    if (rows.length === 0) this.log(`Run ${run.id} has no committed checkpoints.`)
    else {
      this.log(
        table(
          ['STEP', 'CREATED', 'ATTEMPT', 'FILES', 'BYTES', 'TAGS'],
          rows.map((r) => [String(r.step), r.createdAt.replace('T', ' ').slice(0, 19), String(r.attempt ?? '-'), String(r.files), String(r.bytes), r.tags.join(',')]),
        ),
      )
    }
    return {run: run.id, checkpoints: rows}
  }
}
