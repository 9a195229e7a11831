import {Args, Flags} from '../../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../../cli/base-command'
import {FINAL_STATES, type RunRecord} from '../../runs/record'

export default class Cancel extends RfmCommand {
  static override summary = 'Stop a run: SIGTERM to the job, SIGKILL after the grace period; the run ends cancelled.'
  static override examples = ['<%= config.bin %> cloud cancel command-20261122-153012-ab12', '<%= config.bin %> cloud cancel command-20261122-153012-ab12 --grace 60']
  static override args = {run: Args.string({required: true, description: 'Run id.'})}
  static override flags = {
    grace: Flags.integer({description: 'Seconds between SIGTERM and SIGKILL (time for an emergency checkpoint).', default: 10, min: 0, max: 3600}),
    profile: profileFlag,
  }

  async run(): Promise<{run: RunRecord; alreadyFinished: boolean}> {
    const {args, flags} = await this.parse(Cancel)
    const ctx = await this.context(flags.profile)
    const before = await ctx.runs.get(args.run)
    if (FINAL_STATES.has(before.state)) {
      this.log(`Run ${before.id} already ended (${before.state}); nothing to cancel.`)
      return {run: before, alreadyFinished: true}
    }
    const run = await ctx.backend.cancel(before, ctx.runs, {graceSeconds: flags.grace})
    if (!FINAL_STATES.has(run.state)) this.log(`Cancel of ${run.id} requested; the backend is still stopping it (check with rfm cloud status ${run.id}).`)
    else this.log(run.state === 'cancelled' ? `Cancelled ${run.id}.` : `Run ${run.id} ended ${run.state} before the cancel took effect.`)
    return {run, alreadyFinished: FINAL_STATES.has(run.state) && run.state !== 'cancelled'}
  }
}
