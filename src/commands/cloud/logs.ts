import {Args, Flags} from '../../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../../cli/base-command'
import {streamRun} from '../../cli/follow-output'
import {UsageError} from '../../errors'
import {RunStore} from '../../runs/run-store'

export interface LogsResult {
  run: string
  state: string
  attempts: Array<{attempt: number; log: string}>
}

export default class Logs extends RfmCommand {
  static override summary = "Print a run's log, attempt by attempt; -f follows it until the run ends."
  static override examples = ['<%= config.bin %> cloud logs command-20261122-153012-ab12 -f', '<%= config.bin %> cloud logs command-20261122-153012-ab12 --attempt 2']
  static override args = {run: Args.string({required: true, description: 'Run id.'})}
  static override flags = {
    follow: Flags.boolean({char: 'f', description: 'Keep printing new output until the run ends.'}),
    attempt: Flags.integer({description: 'Only this attempt (1-based).', min: 1}),
    profile: profileFlag,
  }

  async run(): Promise<LogsResult> {
    const {args, flags} = await this.parse(Logs)
    const ctx = await this.context(flags.profile)
    let run = await ctx.runs.get(args.run)
    if (flags.attempt && flags.attempt > Math.max(run.attempts.length, run.retries.attempts)) {
      throw new UsageError(`--attempt ${flags.attempt}: run ${run.id} has ${run.attempts.length} attempts so far.`, {hint: `Use a number from 1 to ${Math.max(1, run.attempts.length)}.`})
    }
    // Backends whose logs live outside the store (AWS Batch: CloudWatch) stream them themselves.
    if (ctx.backend.streamLogs && run.backend.name === ctx.backend.name) {
      const collected = new Map<number, string>()
      const quiet = this.jsonEnabled()
      let shown = 0
      run = await ctx.backend.streamLogs(run, ctx.runs, {
        follow: flags.follow,
        attempt: flags.attempt,
        onChunk: ({attempt, text}) => {
          collected.set(attempt, (collected.get(attempt) ?? '') + text)
          if (quiet) return
          if (attempt !== shown) process.stdout.write(`--- attempt ${(shown = attempt)} ---\n`)
          process.stdout.write(text)
        },
      })
      if (run.attempts.length === 0) this.log(`Run ${run.id} is ${run.state}; no attempt has started yet.`)
      return {run: run.id, state: run.state, attempts: [...collected].map(([attempt, log]) => ({attempt, log}))}
    }
    if (flags.follow) {
      run = (await streamRun(ctx, run.id, this.jsonEnabled(), flags.attempt)).run
      if (!this.jsonEnabled()) return {run: run.id, state: run.state, attempts: []}
    }
    const attempts: LogsResult['attempts'] = []
    for (const a of run.attempts) {
      if (flags.attempt && a.index !== flags.attempt) continue
      const log = (await ctx.runs.store.get(RunStore.logKey(run.id, a.index)))?.toString('utf8') ?? ''
      attempts.push({attempt: a.index, log})
      if (!flags.follow) {
        this.log(`--- attempt ${a.index} ---`)
        if (log) process.stdout.write(this.jsonEnabled() ? '' : log.endsWith('\n') ? log : log + '\n')
      }
    }
    if (run.attempts.length === 0) this.log(`Run ${run.id} is ${run.state}; no attempt has started yet.`)
    return {run: run.id, state: run.state, attempts}
  }
}
