import {Flags} from '../../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../../cli/base-command'
import {paint, runDuration, STATE_COLOR, table} from '../../cli/render'
import type {QueueJob} from '../../backends/types'
import {FINAL_STATES} from '../../runs/record'
import {runSummary, type RunSummary} from '../../runs/summary'

export default class Ls extends RfmCommand {
  static override summary = "List runs in the profile's store, newest first."
  static override examples = ['<%= config.bin %> cloud ls', '<%= config.bin %> cloud ls --state running --kind command --json']
  static override flags = {
    limit: Flags.integer({char: 'n', description: 'Show at most this many runs.', default: 20, min: 1}),
    state: Flags.string({description: 'Only runs in this state (lost = the backend lost them).', options: ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'lost']}),
    kind: Flags.string({description: 'Only runs of this job kind.'}),
    queues: Flags.boolean({description: "AWS Batch: also list the active jobs in the profile's queues (including jobs not started by rfm)."}),
    profile: profileFlag,
  }

  async run(): Promise<{runs: RunSummary[]; queueJobs?: QueueJob[]}> {
    const {flags} = await this.parse(Ls)
    const ctx = await this.context(flags.profile)
    const summaries: RunSummary[] = []
    const durations: string[] = []
    for (let run of await ctx.runs.list()) {
      if (flags.kind && run.kind !== flags.kind) continue
      // Cloud backends keep no process writing the record: ask them for live runs.
      if (ctx.backend.refresh && run.backend.name === ctx.backend.name && !FINAL_STATES.has(run.state)) run = await ctx.backend.refresh(run, ctx.runs)
      const state = (await ctx.backend.observe(run)).state ?? run.state
      if (flags.state && state !== flags.state) continue
      summaries.push(runSummary(run, state))
      durations.push(runDuration(run))
      if (summaries.length >= flags.limit) break
    }
    if (summaries.length === 0) this.log(`No runs${flags.state || flags.kind ? ' match' : ' yet'} in ${ctx.runs.store.url}.`)
    else {
      this.log(
        table(
          ['RUN', 'KIND', 'STATE', 'ATTEMPTS', 'CREATED', 'DURATION'],
          summaries.map((s, i) => [s.id, s.kind, paint(s.state, STATE_COLOR[s.state], this.color), String(s.attempts), s.createdAt.replace('T', ' ').slice(0, 19), durations[i]]),
        ),
      )
    }
    if (flags.queues && ctx.backend.queueJobs) {
      const queueJobs = await ctx.backend.queueJobs()
      this.log(
        queueJobs.length === 0
          ? '\nNo active jobs in the queues.'
          : '\n' +
              table(
                ['QUEUE', 'JOB', 'NAME', 'STATUS', 'RUN'],
                queueJobs.map((j) => [j.queue.split('/').pop() ?? j.queue, j.jobId, j.jobName, j.status, j.runId ?? '-']),
              ),
      )
      return {runs: summaries, queueJobs}
    }
    return {runs: summaries}
  }
}
