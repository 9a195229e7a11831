import {Args, Flags} from '../../vendor/oclif-core'

import {RfmCommand} from '../../cli/base-command'
import {parseDuration} from '../../config/duration'
import {UsageError} from '../../errors'
import {findKind, loadKindsFor} from '../../jobs/registry'
import {loadCatalog} from '../../scheduler/catalog'
import {workloadFromFile, workloadFromKind} from '../../scheduler/input'
import {loadInterruptions} from '../../scheduler/interruptions'
import {type Market, planWorkload, type PlanResult} from '../../scheduler/plan'
import {renderPlan} from '../../scheduler/render'

export type PlanOutput =
  | ({cpuOnly: false; source: {kind?: string; file?: string; overrides: string[]}} & PlanResult)
  | {cpuOnly: true; source: {kind?: string; file?: string; overrides: string[]}; resources: {gpus: number; cpus: number; memoryGiB: number}; plans: []; chosen: null; warnings: string[]}

const list = (value?: string) =>
  value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean)

export default class Plan extends RfmCommand {
  static override summary = 'Rank instance types × regions × spot/on-demand by expected cost for a job.'
  static override description = `Estimates GPU memory per device and runtime for the job (from its kind's resource estimate, or a model-level workload file), then prices every instance type that fits with spot interruptions included: price × (compute + checkpoints + expected interruptions × (lost work + restart)). Prints a ranked table with one line of why, the recommended save_steps, and warnings about batch size and learning rate.`
  static override examples = [
    '<%= config.bin %> cloud plan --workload examples/plan/qwen3-vl-4b-lora-sft.yaml',
    '<%= config.bin %> cloud plan --workload examples/plan/qwen3-vl-4b-lora-sft.yaml --deadline 6h --max-price 3 --regions us-east-1,us-west-2',
    '<%= config.bin %> cloud plan command -c examples/command/hello.yaml',
  ]
  static override args = {
    kind: Args.string({required: false, description: 'Job kind whose resource estimate to plan (or use --workload).'}),
  }
  static override flags = {
    config: Flags.string({char: 'c', description: 'Config file of the job kind.', helpValue: 'FILE'}),
    workload: Flags.string({char: 'w', description: 'Model-level workload file (see examples/plan/).', helpValue: 'FILE'}),
    set: Flags.string({description: 'Override a config or workload key (repeatable): --set method=qlora4.', helpValue: 'KEY=VALUE', multiple: true}),
    'max-price': Flags.string({description: 'Highest price per instance-hour, USD.', helpValue: '$/H'}),
    deadline: Flags.string({description: 'Latest expected finish, e.g. 6h or 90m.', helpValue: 'DURATION'}),
    gpus: Flags.integer({description: 'Only instances with exactly this many GPUs.', min: 1}),
    regions: Flags.string({description: 'Comma-separated regions (default: all in the catalog).', helpValue: 'LIST'}),
    families: Flags.string({description: 'Comma-separated instance families, e.g. g5,g6e.', helpValue: 'LIST'}),
    market: Flags.string({description: 'spot, on-demand or any.', options: ['spot', 'on-demand', 'any'], default: 'any'}),
    top: Flags.integer({description: 'Rows to print.', default: 12, min: 1}),
  }

  async run(): Promise<PlanOutput> {
    const {args, flags} = await this.parse(Plan)
    if (!args.kind && !flags.workload) {
      throw new UsageError('Name a job kind with its config (rfm cloud plan KIND -c FILE) or pass --workload FILE.', {hint: 'Try rfm cloud plan --workload examples/plan/qwen3-vl-4b-lora-sft.yaml'})
    }
    if (args.kind && flags.workload) throw new UsageError('Pass either a job kind or --workload, not both.', {hint: 'The workload file already describes the job.'})
    const maxPrice = flags['max-price'] === undefined ? undefined : Number(flags['max-price'].replace(/^\$/, ''))
    if (maxPrice !== undefined && !(maxPrice > 0)) throw new UsageError(`--max-price expects a price per hour in USD, got "${flags['max-price']}".`, {hint: 'For example --max-price 2.5'})
    const deadlineSeconds = flags.deadline === undefined ? undefined : parseDuration(flags.deadline)
    if (flags.deadline !== undefined && deadlineSeconds === undefined) throw new UsageError(`--deadline expects a duration such as 6h or 90m, got "${flags.deadline}".`, {hint: 'Units: s, m, h, d.'})

    const input = flags.workload
      ? await workloadFromFile(flags.workload, flags.set)
      : await workloadFromKind(findKind(await loadKindsFor(args.kind, this.config.getPluginsList()), args.kind!), flags.config, flags.set)
    if (!input.workload) {
      const r = input.resources!
      this.log(`The ${input.source.kind} job needs no GPU (${r.cpus} CPU, ${r.memoryGiB} GiB): it runs on the local backend or any CPU instance; nothing to rank.`)
      return {cpuOnly: true, source: input.source, resources: {gpus: 0, cpus: r.cpus, memoryGiB: r.memoryGiB}, plans: [], chosen: null, warnings: []}
    }
    const [catalog, interruptions] = await Promise.all([loadCatalog(), loadInterruptions()])
    const result = planWorkload(input.workload, catalog, interruptions, {
      regions: list(flags.regions),
      families: list(flags.families),
      // the launcher's GPU count (or resources.gpus) fixes the instance's; --gpus overrides both
      gpus: flags.gpus ?? (input.resources?.gpusFixed ? input.resources.gpus : undefined),
      maxPrice,
      deadlineHours: deadlineSeconds === undefined ? undefined : deadlineSeconds / 3600,
      markets: flags.market === 'any' ? ['spot', 'on-demand'] : [flags.market as Market],
    })
    this.log(renderPlan(result, flags.top))
    return {cpuOnly: false, source: input.source, ...result}
  }
}
