import {execFile} from 'node:child_process'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'

import {Args} from '@oclif/core'

import {RmEvalCommand} from '../../command-base'
import {EvalReport, EvalRow, evalConfigSchema, evaluateCheckpoints} from '../../evaluate'

export default class RmEvalEval extends RmEvalCommand {
  static override summary = 'Evaluate every reward-model checkpoint in model_dirs: preference accuracy, margin, margin std, count.'
  static override description = 'Writes output_file (CSV), its JSON twin and logs/eval_<timestamp>.log next to it. A checkpoint that cannot be loaded is reported in its row.'
  static override examples = ['<%= config.bin %> rm-eval eval examples/rm-eval/eval.yaml']
  static override args = {config: Args.string({required: true, description: 'Evaluation config (YAML).'})}

  async run(): Promise<EvalReport> {
    const {args} = await this.parse(RmEvalEval)
    const {config, baseDir} = await this.readConfig(args.config, evalConfigSchema(this.api.z))
    const report = await evaluateCheckpoints(this.api, config, baseDir, (line) => this.log(line), new Date(), (entry, cacheDir) => this.pullRun(entry, cacheDir))
    this.log('')
    this.log(table(report.results, report.best))
    this.log(`\nWrote ${report.output_file}, ${report.json_file} and ${report.log_file}`)
    return report
  }

  /** Pulls every committed checkpoint of run `entry` (verified) into cacheDir/<run>/checkpoint-<step>. */
  private async pullRun(entry: string, cacheDir: string): Promise<string | undefined> {
    const listed = await rfmCli(this.config.root, ['ckpt', 'ls', entry])
    if (listed.code !== 0 || !listed.json?.checkpoints) return undefined
    const dir = path.join(cacheDir, listed.json.run as string)
    for (const {step} of listed.json.checkpoints as {step: number}[]) {
      const target = path.join(dir, `checkpoint-${step}`)
      if (existsSync(path.join(target, 'model.safetensors'))) continue
      const pulled = await rfmCli(this.config.root, ['ckpt', 'pull', entry, target, '--step', String(step)])
      if (pulled.code !== 0) {
        mkdirSync(target, {recursive: true})
        writeFileSync(path.join(target, 'PULL_ERROR'), pulled.json?.error?.message ?? `rfm ckpt pull ${entry} --step ${step} failed`)
      }
    }
    return dir
  }
}

/** rfm's own CLI (the host that runs this command), for `rfm ckpt ls/pull` of a run id. */
function rfmCli(root: string, args: string[]): Promise<{code: number; json: any}> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(root, 'bin', 'run.js'), ...args, '--json'], {maxBuffer: 64 << 20}, (error, stdout) => {
      let json: any
      try {
        json = JSON.parse(stdout)
      } catch {
        json = undefined
      }
      resolve({code: error ? Number((error as {code?: number}).code ?? 1) : 0, json})
    })
  })
}

function table(rows: EvalRow[], best: EvalRow | null): string {
  const f = (n: number | null) => (n === null ? '-' : n.toFixed(4))
  const lines = [['', 'model_dir', 'checkpoint', 'step', 'accuracy', 'avg_margin', 'margin_std', 'samples', 'status']]
  for (const r of rows) lines.push([r === best ? '*' : '', r.model_dir, r.checkpoint || '-', r.step === null ? '-' : String(r.step), f(r.preference_accuracy), f(r.avg_margin), f(r.margin_std), String(r.sample_count), r.status === 'ok' ? 'ok' : `error: ${r.error}`])
  const widths = lines[0].map((_, c) => Math.max(...lines.map((l) => l[c].length)))
  return lines.map((l) => l.map((cell, c) => (c === l.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n') + (best ? '\n(* best by preference accuracy, then margin)' : '')
}
