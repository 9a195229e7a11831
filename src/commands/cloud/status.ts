import {Args} from '../../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../../cli/base-command'
import {describeRun} from '../../cli/render'
import {describeBatch} from '../../backends/aws-batch/render'
import type {LiveView} from '../../backends/types'
import {NotFoundError} from '../../errors'
import type {RunRecord} from '../../runs/record'

export default class Status extends RfmCommand {
  static override summary = 'Show a run: state, attempts with their exit codes or signals, and what the backend sees.'
  static override examples = ['<%= config.bin %> cloud status', '<%= config.bin %> cloud status command-20261122-153012-ab12 --json']
  static override args = {run: Args.string({description: 'Run id (default: the newest run).'})}
  static override flags = {profile: profileFlag}

  async run(): Promise<{run: RunRecord; live: LiveView}> {
    const {args, flags} = await this.parse(Status)
    const ctx = await this.context(flags.profile)
    let run = args.run ? await ctx.runs.get(args.run) : (await ctx.runs.list())[0]
    if (!run) throw new NotFoundError(`There are no runs in ${ctx.runs.store.url}.`, {hint: 'Start one with rfm cloud launch command -c examples/command/hello.yaml'})
    // Cloud backends: merge the backend's view (attempts, status reasons) into the record first.
    if (ctx.backend.refresh && run.backend.name === ctx.backend.name) run = await ctx.backend.refresh(run, ctx.runs)
    const live = await ctx.backend.observe(run)
    this.log(describeRun(run, live, this.color))
    if (run.backend.name === 'aws-batch') this.log('\n' + describeBatch(run, live))
    for (const warning of live.warnings ?? []) this.warn(warning)
    return {run, live}
  }
}
