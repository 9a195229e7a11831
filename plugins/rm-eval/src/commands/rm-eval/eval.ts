import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'

import {Args, Flags} from '@oclif/core'

import {RmEvalCommand} from '../../command-base'
import {EvalReport, EvalRow, evalConfigSchema, evaluateCheckpoints} from '../../evaluate'
import {EvalPart, mergeParts, MergeReport, readPart} from '../../merge'

export default class RmEvalEval extends RmEvalCommand {
  static override summary = 'Evaluate every reward-model checkpoint in model_dirs: preference accuracy, margin, margin std, count.'
  static override description = 'Writes output_file (CSV), its JSON twin and logs/eval_<timestamp>.log next to it. A checkpoint that cannot be loaded is reported in its row.'
  static override examples = [
    '<%= config.bin %> rm-eval eval examples/rm-eval/eval.yaml',
    '<%= config.bin %> cloud launch rm-eval -c examples/rm-eval/eval.yaml --eval --array 4   # one Batch array child per checkpoint',
    '<%= config.bin %> rm-eval eval --merge rm-eval-20261122-153012-ab12 --out results/',
  ]
  static override args = {config: Args.string({required: false, description: 'Evaluation config (YAML).'})}
  static override flags = {
    merge: Flags.string({description: 'Merge the results of an eval job (rfm cloud launch rm-eval --eval; every array child on AWS Batch) into one CSV/JSON/log.', helpValue: 'RUN'}),
    out: Flags.string({description: 'With --merge: the folder for the merged files (default ./<RUN>).', helpValue: 'DIR', dependsOn: ['merge']}),
    profile: Flags.string({description: 'With --merge: the profile whose store holds the run.', dependsOn: ['merge']}),
  }

  async run(): Promise<EvalReport | MergeReport> {
    const {args, flags} = await this.parse(RmEvalEval)
    if (flags.merge) {
      if (args.config) throw new this.api.errors.UsageError('Pass either a config or --merge RUN, not both.', {hint: 'rfm rm-eval eval --merge RUN merges the results of an eval job.'})
      return this.merge(flags.merge, path.resolve(flags.out ?? flags.merge), flags.profile)
    }
    if (!args.config) throw new this.api.errors.UsageError('Missing the evaluation config.', {hint: 'rfm rm-eval eval CONFIG, or rfm rm-eval eval --merge RUN.'})
    const {config, baseDir} = await this.readConfig(args.config, evalConfigSchema(this.api.z))
    const report = await evaluateCheckpoints(this.api, config, baseDir, (line) => this.log(line), new Date(), (entry, cacheDir) => this.pullRun(entry, cacheDir))
    this.log('')
    this.log(table(report.results, report.best))
    this.log(`\nWrote ${report.output_file}, ${report.json_file} and ${report.log_file}`)
    return report
  }

  /** The results of eval job `runId`: the job's final checkpoint, or each array child's. */
  private async merge(runId: string, outDir: string, profile?: string): Promise<MergeReport> {
    const extra = profile ? ['--profile', profile] : []
    const status = await this.api.commands.runRfm(['cloud', 'status', runId, ...extra])
    if (status.code !== 0) throw new this.api.errors.NotFoundError(status.json?.error?.message ?? `Run ${runId} not found.`, {hint: 'rfm cloud ls lists the runs.'})
    const run = status.json.run as {id: string; kind: string; state: string; config: {mode?: string}; backend: {request?: {arraySize?: number}}}
    if (run.kind !== 'rm-eval' || run.config.mode !== 'eval') throw new this.api.errors.UsageError(`Run ${run.id} is not an rm-eval eval job (kind ${run.kind}, mode ${run.config.mode ?? 'train'}).`, {hint: 'Launch one with rfm cloud launch rm-eval -c eval.yaml --eval.'})
    const size = run.backend.request?.arraySize
    const slots = size ? Array.from({length: size}, (_, i) => i) : [undefined]
    const parts: EvalPart[] = []
    for (const index of slots) {
      const dir = path.join(outDir, '.parts', index === undefined ? 'job' : `array-${index}`)
      // the newest checkpoint: the final one of a finished part, else the rows scored so far
      const pulled = await this.api.commands.runRfm(['ckpt', 'pull', run.id, dir, ...(index === undefined ? [] : ['--array-index', String(index)]), ...extra])
      if (pulled.code !== 0) parts.push({index, missing: `${index === undefined ? 'the job' : `array child ${index}`} has no results (run ${run.state})`})
      else parts.push(readPart(dir, index, pulled.json.files as string[]))
    }
    const report = mergeParts(run.id, parts, outDir)
    for (const p of report.parts) this.log(`${p.index === null ? 'job' : `array child ${p.index}`}: ${p.status === 'ok' ? `${p.rows} row(s)` : p.status}`)
    this.log('')
    this.log(table(report.results, report.best))
    this.log(`\nWrote ${report.output_file}, ${report.json_file} and ${report.log_file}`)
    return report
  }

  /** Pulls every committed checkpoint of run `entry` (verified) into cacheDir/<run>/checkpoint-<step>. */
  private async pullRun(entry: string, cacheDir: string): Promise<string | undefined> {
    const listed = await this.api.commands.runRfm(['ckpt', 'ls', entry])
    if (listed.code !== 0 || !listed.json?.checkpoints) return undefined
    const dir = path.join(cacheDir, listed.json.run as string)
    for (const {step} of listed.json.checkpoints as {step: number}[]) {
      const target = path.join(dir, `checkpoint-${step}`)
      if (existsSync(path.join(target, 'model.safetensors'))) continue
      const pulled = await this.api.commands.runRfm(['ckpt', 'pull', entry, target, '--step', String(step)])
      if (pulled.code !== 0) {
        mkdirSync(target, {recursive: true})
        writeFileSync(path.join(target, 'PULL_ERROR'), pulled.json?.error?.message ?? `rfm ckpt pull ${entry} --step ${step} failed`)
      }
    }
    return dir
  }
}

function table(rows: EvalRow[], best: EvalRow | null): string {
  const f = (n: number | null) => (n === null ? '-' : n.toFixed(4))
  const lines = [['', 'model_dir', 'checkpoint', 'step', 'accuracy', 'avg_margin', 'margin_std', 'samples', 'status']]
  for (const r of rows) lines.push([r === best ? '*' : '', r.model_dir, r.checkpoint || '-', r.step === null ? '-' : String(r.step), f(r.preference_accuracy), f(r.avg_margin), f(r.margin_std), String(r.sample_count), r.status === 'ok' ? 'ok' : `error: ${r.error}`])
  const widths = lines[0].map((_, c) => Math.max(...lines.map((l) => l[c].length)))
  return lines.map((l) => l.map((cell, c) => (c === l.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n') + (best ? '\n(* best by preference accuracy, then margin)' : '')
}
