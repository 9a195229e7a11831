import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'

import {Args, Flags} from '@oclif/core'
import {configFlags, RfmPluginCommand} from '@rfm/plugin-kit'

import {EvalReport, EvalRow, evalConfigSchema, evaluateCheckpoints} from '../../evaluate'
import {EvalPart, mergeParts, MergeReport, readPart} from '../../merge'

export default class RmEvalEval extends RfmPluginCommand {
  static override summary = 'Evaluate every reward-model checkpoint in model_dirs: preference accuracy, margin, margin std, count.'
  static override description = 'Writes output_file (CSV), its JSON twin and logs/eval_<timestamp>.log next to it. A checkpoint that cannot be loaded is reported in its row.'
  static override examples = [
    '<%= config.bin %> rm-eval eval examples/rm-eval/eval.yaml',
    '<%= config.bin %> cloud launch rm-eval -c examples/rm-eval/eval.yaml --eval --array 4   # one Batch array child per checkpoint',
    '<%= config.bin %> rm-eval eval --merge rm-eval-20261122-153012-ab12 --out results/',
  ]
  static override args = {config: Args.string({required: false, description: 'Evaluation config (YAML); or -c FILE.'})}
  static override flags = {
    ...configFlags,
    merge: Flags.string({description: 'Merge the results of an eval job (rfm cloud launch rm-eval --eval; every array child on AWS Batch) into one CSV/JSON/log.', helpValue: 'RUN'}),
    out: Flags.string({description: 'With --merge: the folder for the merged files (default ./<RUN>).', helpValue: 'DIR', dependsOn: ['merge']}),
    profile: Flags.string({description: 'With --merge: the profile whose store holds the run.', dependsOn: ['merge']}),
  }

  async run(): Promise<EvalReport | MergeReport> {
    const {args, flags} = await this.parse(RmEvalEval)
    const file = args.config ?? flags.config
    if (args.config && flags.config) throw new this.api.errors.UsageError('Give the config once: as the argument or as -c FILE.', {hint: 'rfm rm-eval eval CONFIG [--set KEY=VALUE ...]'})
    if (flags.merge) {
      if (file || flags.set) throw new this.api.errors.UsageError('Pass either a config or --merge RUN, not both.', {hint: 'rfm rm-eval eval --merge RUN merges the results of an eval job.'})
      return this.merge(flags.merge, path.resolve(flags.out ?? flags.merge), flags.profile)
    }
    if (!file && !flags.set) throw new this.api.errors.UsageError('Missing the evaluation config.', {hint: 'rfm rm-eval eval CONFIG, or rfm rm-eval eval --merge RUN.'})
    const {config, baseDir} = await this.readConfig({file, sets: flags.set}, evalConfigSchema(this.api.z), KEYS_HINT)
    const report = await evaluateCheckpoints(
      this.api,
      config,
      baseDir,
      (line) => this.log(line),
      new Date(),
      (entry, cacheDir) => this.pullRun(entry, cacheDir),
    )
    this.log('')
    this.log(table(report.results, report.best))
    this.log(`\nWrote ${report.output_file}, ${report.json_file} and ${report.log_file}`)
    return report
  }

  /** The results of eval job `runId`: the job's final checkpoint, or each array child's. */
  private async merge(runId: string, outDir: string, profile?: string): Promise<MergeReport> {
    const run = await this.api.runs.get(runId, {profile})
    const mode = run.config.mode as string | undefined
    if (run.kind !== 'rm-eval' || mode !== 'eval')
      throw new this.api.errors.UsageError(`Run ${run.id} is not an rm-eval eval job (kind ${run.kind}, mode ${mode ?? 'train'}).`, {
        hint: 'Launch one with rfm cloud launch rm-eval -c eval.yaml --eval.',
      })
    const size = run.backend.request?.arraySize
    const slots = size ? Array.from({length: size}, (_, i) => i) : [undefined]
    const parts: EvalPart[] = []
    for (const index of slots) {
      const dir = path.join(outDir, '.parts', index === undefined ? 'job' : `array-${index}`)
      // the newest checkpoint: the final one of a finished part, else the rows scored so far
      const pulled = await this.api.checkpoints.pull(`${run.id}@latest`, dir, {profile, arrayIndex: index}).catch(() => undefined)
      if (!pulled) parts.push({index, missing: `${index === undefined ? 'the job' : `array child ${index}`} has no results (run ${run.state})`})
      else parts.push(readPart(dir, index, pulled.files))
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
    const listed = await this.api.checkpoints.list(entry).catch(() => undefined)
    if (!listed) return undefined
    const dir = path.join(cacheDir, listed.run)
    for (const {step} of listed.checkpoints) {
      const target = path.join(dir, `checkpoint-${step}`)
      if (existsSync(path.join(target, 'model.safetensors'))) continue
      try {
        await this.api.checkpoints.pull(`${listed.run}@${step}`, target)
      } catch (error) {
        mkdirSync(target, {recursive: true})
        writeFileSync(path.join(target, 'PULL_ERROR'), (error as Error).message || `rfm ckpt pull ${entry} --step ${step} failed`)
      }
    }
    return dir
  }
}

const KEYS_HINT = 'See the keys in examples/rm-eval/.'

function table(rows: EvalRow[], best: EvalRow | null): string {
  const f = (n: number | null) => (n === null ? '-' : n.toFixed(4))
  const lines = [['', 'model_dir', 'checkpoint', 'step', 'accuracy', 'avg_margin', 'margin_std', 'samples', 'status']]
  for (const r of rows)
    lines.push([
      r === best ? '*' : '',
      r.model_dir,
      r.checkpoint || '-',
      r.step === null ? '-' : String(r.step),
      f(r.preference_accuracy),
      f(r.avg_margin),
      f(r.margin_std),
      String(r.sample_count),
      r.status === 'ok' ? 'ok' : `error: ${r.error}`,
    ])
  const widths = lines[0].map((_, c) => Math.max(...lines.map((l) => l[c].length)))
  return (
    lines
      .map((l) =>
        l
          .map((cell, c) => (c === l.length - 1 ? cell : cell.padEnd(widths[c])))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + (best ? '\n(* best by preference accuracy, then margin)' : '')
  )
}
