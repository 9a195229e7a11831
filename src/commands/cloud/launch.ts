import {Args, Flags} from '../../vendor/oclif-core'
import {stringify} from '../../vendor/yaml'

import {profileFlag, RfmCommand} from '../../cli/base-command'
import {toRfmError} from '../../cli/errors'
import {jobEstimate} from '../../jobs/estimate'
import {launchRun, planLaunch} from '../../jobs/launch'
import {firstPositional, launchFlagOverrides, launchFlagParseError, launchFlagsForOclif, valueFlagNames} from '../../jobs/launch-flags'
import {findKind, loadKindsFor} from '../../jobs/registry'
import {describeProvenance, quoteArg} from '../../jobs/provenance'
import {resolveJob} from '../../jobs/resolve'
import type {ExternalCommand} from '../../plugin-api'
import type {RunRecord} from '../../runs/record'
import {formatBytes, progressMode} from '../../staging/progress'

export interface LaunchResult {
  dryRun: boolean
  run: RunRecord
  command?: ExternalCommand
  /** keys passed through to the script as written, possible typos */
  notices?: string[]
  /** --dry-run on aws-batch: the SubmitJob input as it would be sent */
  submitJob?: unknown
  /** --dry-run on aws-batch: the RegisterJobDefinition input, when a revision would be registered */
  registerJobDefinition?: unknown
  warnings?: string[]
}

export default class Launch extends RfmCommand {
  static override summary = 'Launch a training run of a job kind on the active backend.'
  static override description = `Validates the config (a YAML or JSON file, then the kind's own flags such as sft's --stage, then --set overrides) against the kind's schema, records the run in the object store and hands it to the backend (local by default). Without --follow it returns at once with the run id; with --follow it streams the log and exits 0 only if the run succeeds.`
  static override examples = [
    '<%= config.bin %> cloud launch command -c examples/command/hello.yaml --follow',
    '<%= config.bin %> cloud launch command -c job.yaml --set retries.attempts=3 --set env.SEED=7',
    '<%= config.bin %> cloud launch command -c job.yaml --dry-run',
    '<%= config.bin %> cloud launch sft -c examples/sft/spatial-dpo.yaml --sft-checkpoint RUN@best',
  ]
  static override args = {
    kind: Args.string({required: true, description: 'Job kind: command, or one that a plugin provides.'}),
  }
  static override flags = {
    config: Flags.string({char: 'c', description: 'Config file (YAML or JSON).', helpValue: 'FILE'}),
    set: Flags.string({description: 'Override a config key (repeatable); the value is YAML: --set data.ratio=[0.7,0.3].', helpValue: 'KEY=VALUE', multiple: true}),
    follow: Flags.boolean({char: 'f', description: 'Stream the log until the run ends; exit 1 unless it succeeds.'}),
    'dry-run': Flags.boolean({description: 'Print the resolved config and what would run, and stop.'}),
    chaos: Flags.string({
      description: 'Local backend: interrupt the job N times at random moments and restart it, as a spot fleet would (kills=N,seed=S[,signal=TERM|KILL|mixed][,min=S,max=S]).',
      helpValue: 'kills=N,seed=S',
    }),
    array: Flags.integer({
      description: 'AWS Batch: submit an array job of N children (2–10000); each gets its index in AWS_BATCH_JOB_ARRAY_INDEX and RFM_ARRAY_INDEX.',
      min: 2,
      max: 10_000,
      helpValue: 'N',
    }),
    queue: Flags.string({description: 'AWS Batch: the queue to submit to (default spot).', options: ['spot', 'on-demand']}),
    profile: profileFlag,
  }

  async run(): Promise<LaunchResult> {
    // A kind's own flags (e.g. sft's --stage) are oclif flags once the kind is known; they become config overrides.
    const kindName = firstPositional(this.argv, valueFlagNames(Launch.flags))
    const kinds = await loadKindsFor(kindName, this.config.getPluginsList())
    const own = kindName ? kinds.get(kindName)?.kind.launchFlags : undefined
    const input = {args: Launch.args, strict: Launch.strict, baseFlags: Launch.baseFlags, enableJsonFlag: Launch.enableJsonFlag, flags: {...Launch.flags, ...launchFlagsForOclif(kindName ?? '', own)}}
    const {args, flags, raw} = await this.parse(input, this.argv).catch((error: Error) => {
      throw launchFlagParseError(error, kindName ?? '', own, (e) => toRfmError(e, this.id))
    })
    const flagSets = launchFlagOverrides(own, flags, raw)
    const job = await resolveJob(findKind(kinds, args.kind), {file: flags.config, flagSets, sets: flags.set ?? []})
    for (const notice of job.notices ?? []) this.logToStderr(notice)
    const ctx = await this.context(flags.profile)
    // --chaos and --follow load their modules only when given (start-up of the dry-run: npm run bench -- cli)
    const options = {
      ...(flags.chaos ? {chaos: (await import('../../backends/local/chaos.js')).parseChaos(flags.chaos)} : {}),
      ...(flags.queue || flags.array ? {batch: {...(flags.queue ? {queue: flags.queue as 'spot' | 'on-demand'} : {}), ...(flags.array ? {arraySize: flags.array} : {})}} : {}),
    }
    // Kinds that estimate a GPU workload get the top feasible plan and why (the planner is loaded
    // only for them, keeping CPU-only launches fast).
    const estimate = jobEstimate(job)
    if (estimate?.workload && estimate.gpus > 0) {
      const plan = await (await import('../../scheduler/launch-hook.js')).launchPlanNote(job)
      if (plan) this.log(plan.line)
    }

    if (flags['dry-run']) {
      const {run, command, warnings} = await planLaunch(job, ctx, options)
      this.log(`Dry run: ${run.kind} job on the ${run.backend.name} backend (profile ${run.profile}, store ${run.store})\n`)
      this.log(stringify({...(job.name ? {name: job.name} : {}), ...run.config, retries: run.retries, ...(run.timeoutSeconds ? {timeout: `${run.timeoutSeconds}s`} : {})}).trimEnd())
      if (command) {
        this.log(`\nWould run: ${command.argv.map(quoteArg).join(' ')}\n       in: ${command.cwd}`)
        for (const line of describeProvenance(command, job.source.given)) this.log(line)
      }
      for (const warning of warnings) this.warn(warning)
      // What the profile lacks to submit (no job definition for the kind, no queues) is shown, not fatal:
      // the launch itself fails with the same error and its hint.
      const requests = ctx.backend.planRequests
        ? await ctx.backend.planRequests(run).catch((error: Error & {hint?: string}) => {
            warnings.push(`Not submittable as configured: ${error.message}${error.hint ? ` (${error.hint})` : ''}`)
            this.warn(warnings.at(-1)!)
            return undefined
          })
        : undefined
      if (requests) this.log(`\nWould send to ${ctx.backend.title} (the workdir and local datasets are staged first, so their references differ):\n${JSON.stringify(requests, null, 2)}`)
      return {dryRun: true, run, ...(command ? {command} : {}), ...requests, ...(warnings.length > 0 ? {warnings} : {}), notices: job.notices}
    }

    // The backend checks what it can (on AWS Batch: the queues and the kind's job definition) before anything is staged.
    const warnings: string[] = []
    const run = await launchRun(job, ctx, {
      ...options,
      preflight: true,
      progress: progressMode(this.jsonEnabled()),
      onStaged: (s) => this.log(`Staged ${s.field}: ${s.path} → ${s.ref} (${s.uploadedFiles} of ${s.files} files uploaded, ${formatBytes(s.uploadedBytes)} of ${formatBytes(s.bytes)})`),
      onWarning: (message) => {
        warnings.push(message)
        this.warn(message)
      },
    })
    this.log(`Launched ${run.id} (${run.kind}) on the ${run.backend.name} backend.`)
    if (!flags.follow) {
      this.log(`Follow it with: rfm cloud logs ${run.id} -f`)
      return {dryRun: false, run, ...(warnings.length > 0 ? {warnings} : {})}
    }
    const [{streamRun}, {paint, STATE_COLOR}] = await Promise.all([import('../../cli/follow-output.js'), import('../../cli/render.js')])
    const {run: final, lost} = await streamRun(ctx, run.id, this.jsonEnabled())
    const state = lost ? 'lost' : final.state
    const why = lost ?? (state === 'succeeded' ? undefined : final.reason)
    this.log(`Run ${final.id} ${paint(state, STATE_COLOR[state], this.color)}${why ? `: ${why}` : ''}.`)
    if (state !== 'succeeded') process.exitCode = 1
    return {dryRun: false, run: final, ...(warnings.length > 0 ? {warnings} : {})}
  }
}
