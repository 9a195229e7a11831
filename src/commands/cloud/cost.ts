import {Args, Flags} from '../../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../../cli/base-command'
import {table} from '../../cli/render'
import {formatDuration} from '../../config/duration'
import {FINAL_STATES} from '../../runs/record'
import type {CostTotal, RunCost} from '../../cost/report'

export interface CostResult {
  runs: RunCost[]
  total: CostTotal
}

const usd = (n: number | null) => (n === null ? '?' : `$${n.toFixed(n < 1 ? 4 : 2)}`)

export default class Cost extends RfmCommand {
  static override summary = 'What a run cost across its recoveries: per attempt, total, time lost to interruptions, savings vs on-demand.'
  static override description = `Each attempt is priced at the spot price in force for its instance type and availability zone (EC2 spot price history), or at the catalog's on-demand price, from when its instance started costing it to the container's stop. Batch dates only the container's start, so the instance boot and image pull before it (OVERHEAD) come from what rfm observed (the host's boot time, the first time rfm saw the job STARTING) or, without either, the catalog's estimate; each attempt says which (batch, observed, estimated). Time lost is the work since the last committed checkpoint before each interruption. Without RUN, every run in the store is summarized. Runs on the local backend cost nothing.`
  static override examples = ['<%= config.bin %> cloud cost command-20261122-153012-ab12', '<%= config.bin %> cloud cost --json']
  static override args = {run: Args.string({description: 'Run id (default: every run in the store).'})}
  static override flags = {
    limit: Flags.integer({char: 'n', description: 'Without RUN: at most this many runs, newest first.', default: 50, min: 1}),
    profile: profileFlag,
  }

  async run(): Promise<CostResult> {
    const {args, flags} = await this.parse(Cost)
    const ctx = await this.context(flags.profile)
    const records = args.run ? [await ctx.runs.get(args.run)] : (await ctx.runs.list()).slice(0, flags.limit)
    const {costTotal, runCost} = await import('../../cost/report.js')
    const {AwsPriceSource} = await import('../../cost/prices.js')
    const prices = new AwsPriceSource()
    const runs: RunCost[] = []
    for (let record of records) {
      if (!FINAL_STATES.has(record.state) && ctx.backend.name === record.backend.name && ctx.backend.refresh) record = await ctx.backend.refresh(record, ctx.runs)
      runs.push(await runCost(record, await ctx.runs.events(record.id), prices))
    }
    const total = costTotal(runs)
    if (args.run) {
      const r = runs[0]
      if (!r.applicable) this.log(`Run ${r.runId}: cost not applicable — ${r.note}.`)
      else {
        this.log(
          table(
            ['ATTEMPT', 'INSTANCE', 'ZONE', 'MARKET', 'DURATION', 'OVERHEAD', '$/H', 'COST', 'ON-DEMAND', 'LOST'],
            r.attempts.map((a) => [
              `${a.arrayIndex === undefined ? '' : `[${a.arrayIndex}] `}${a.attempt}${a.interrupted ? '*' : ''}`,
              a.instanceType ?? '?',
              a.availabilityZone ?? '?',
              a.market,
              formatDuration(a.seconds),
              `+${formatDuration(a.overheadSeconds)} (${a.chargedFromSource})`,
              a.pricePerHour === null ? '?' : a.pricePerHour.toFixed(4),
              usd(a.cost),
              usd(a.onDemandCost),
              formatDuration(a.lostSeconds),
            ]),
          ),
        )
        this.log(
          `\nTotal ${usd(r.totalCost)} vs ${usd(r.onDemandCost)} on-demand (saved ${usd(r.savings)}), of which ${usd(r.overheadCost)} for ${formatDuration(r.overheadSeconds)} of instance start before the containers ran; ${formatDuration(r.lostSeconds)} of work lost to interruptions (${usd(r.lostCost)}).${r.note ? `\nNote: ${r.note}.` : ''}\n* interrupted and retried. OVERHEAD: boot and image pull before the container started, from Batch's times (batch), what rfm observed (observed) or the catalog's estimate (estimated).`,
        )
      }
    } else if (runs.length === 0) this.log(`No runs in ${ctx.runs.store.url}.`)
    else {
      this.log(
        table(
          ['RUN', 'BACKEND', 'STATE', 'ATTEMPTS', 'COST', 'ON-DEMAND', 'SAVED', 'OVERHEAD', 'LOST'],
          runs.map((r) => [
            r.runId,
            r.backend,
            r.state,
            String(r.attempts.length),
            r.applicable ? usd(r.totalCost) : 'n/a',
            r.applicable ? usd(r.onDemandCost) : 'n/a',
            r.applicable ? usd(r.savings) : 'n/a',
            formatDuration(r.overheadSeconds),
            formatDuration(r.lostSeconds),
          ]),
        ),
      )
      this.log(`\nTotal ${usd(total.cost)} (saved ${usd(total.savings)} vs on-demand), of which ${usd(total.overheadCost)} for instance start (boot, image pull) before the containers ran.`)
    }
    return {runs, total}
  }
}
