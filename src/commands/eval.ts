import * as path from 'node:path'
import {Args, Flags} from '../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../cli/base-command'
import type {EvalReport} from '../eval/report'

export default class Eval extends RfmCommand {
  static override summary = "Score a run's checkpoints (or a local checkpoint folder) on CV-Bench, VSR and your own VQA set."
  static override description = [
    "Benchmarks are read in their released files, without Python: CV-Bench parquet (test_2d.parquet, test_3d.parquet or their folder), VSR JSON lines with its images folder, and a VQA set in the grpo plugin's formats (save_to_disk or JSONL + images) scored with its accuracy reward's rules.",
    'Prints one row per checkpoint × benchmark × task plus "all" per benchmark (CV-Bench: 2D, 3D and overall as CV-Bench reports them). With --out, writes eval_results.csv, eval_results.json and logs/eval_<timestamp>.log there, after every checkpoint.',
    'As a resumable job that fans out over checkpoints on AWS Batch: rfm cloud launch eval -c eval.yaml [--array N].',
  ].join('\n\n')
  static override examples = [
    '<%= config.bin %> eval sft-20261204-101500-ab12 --benchmark cv-bench=./CV-Bench --benchmark vsr=./vsr --max-samples 100',
    '<%= config.bin %> eval ./ckpt --benchmark vqa=./my_vqa --grader-url http://127.0.0.1:11434/v1 --grader-model llama3.2 --out results/',
  ]
  static override args = {model: Args.string({required: true, description: "A run id of the profile's store, or a local checkpoint folder (or a folder of checkpoint-<step>/ folders)."})}
  static override flags = {
    benchmark: Flags.string({char: 'b', multiple: true, required: true, description: 'NAME=PATH; NAME starts with cv-bench, vsr or vqa.', helpValue: 'NAME=PATH'}),
    'max-samples': Flags.integer({description: 'Only the first N rows of each benchmark.', min: 1, helpValue: 'N'}),
    checkpoints: Flags.string({description: 'Which checkpoints: all, best, final, latest or a step.', default: 'all', helpValue: 'all|best|final|latest|STEP'}),
    out: Flags.string({description: 'Folder for eval_results.csv, eval_results.json and logs/.', helpValue: 'DIR'}),
    images: Flags.string({description: 'VSR: the images folder when vsr=FILE.jsonl (default: images/ beside the file).', helpValue: 'DIR'}),
    kind: Flags.string({description: 'For a local folder: the job kind that trained it (its prompt and answer format, e.g. grpo).', helpValue: 'KIND'}),
    'grader-url': Flags.string({
      description: 'An OpenAI-compatible endpoint (Ollama, vLLM, OpenAI) that grades free-form VQA answers; rules otherwise.',
      helpValue: 'URL',
      dependsOn: ['grader-model'],
    }),
    'grader-model': Flags.string({description: "The grader's model name.", helpValue: 'MODEL', dependsOn: ['grader-url']}),
    'grader-api-key-env': Flags.string({description: "Environment variable holding the grader's API key (local servers need none).", helpValue: 'VAR'}),
    'grader-timeout': Flags.integer({description: 'Seconds per grader request before the rules decide.', default: 30, min: 1}),
    'grader-concurrency': Flags.integer({description: 'Grader requests in flight at most.', default: 4, min: 1}),
    'batch-size': Flags.integer({description: 'Questions answered per forward pass.', default: 16, min: 1}),
    'max-new-tokens': Flags.integer({description: 'Longest answer generated.', default: 32, min: 1}),
    profile: profileFlag,
  }

  async run(): Promise<EvalReport> {
    const {args, flags} = await this.parse(Eval)
    const {evaluate} = await import('../eval/evaluate.js')
    const {parseSelection} = await import('../eval/checkpoints.js')
    const {reportFiles, writeReportFiles} = await import('../eval/files.js')
    const {renderTable} = await import('../eval/report.js')
    const {loadKinds} = await import('../jobs/registry.js')
    const now = new Date()
    const lines: string[] = []
    const log = (line: string) => {
      lines.push(`${new Date().toISOString()} ${line}`)
      this.logToStderr(line)
    }
    const out = flags.out ? path.resolve(flags.out) : undefined
    let written: string[] = []
    const report = await evaluate({
      model: args.model,
      checkpoints: parseSelection(flags.checkpoints),
      kind: flags.kind,
      benchmarks: flags.benchmark,
      maxSamples: flags['max-samples'],
      images: flags.images ? path.resolve(flags.images) : undefined,
      grader: flags['grader-url']
        ? {url: flags['grader-url'], model: flags['grader-model']!, apiKeyEnv: flags['grader-api-key-env'], timeoutS: flags['grader-timeout'], maxConcurrency: flags['grader-concurrency']}
        : undefined,
      batch: flags['batch-size'],
      maxNewTokens: flags['max-new-tokens'],
      runs: async () => (await this.context(flags.profile)).runs,
      evaluations: async () => {
        const kinds = await loadKinds(this.config.getPluginsList())
        return new Map([...kinds].filter(([, e]) => e.kind.evaluation).map(([name, e]) => [name, e.kind.evaluation!]))
      },
      log,
      onCheckpoint: async (partial) => {
        if (out) written = await writeReportFiles(out, reportFiles(partial, lines, now))
      },
      now,
    })
    const {stopped: _stopped, ...result} = report
    if (out) written = await writeReportFiles(out, reportFiles(result, lines, now))
    this.log(renderTable(result.results))
    if (out) this.log(`\nWrote ${written.map((f) => (path.relative(process.cwd(), f).startsWith('..') ? f : path.relative(process.cwd(), f))).join(', ')}`)
    const failed = result.results.filter((r) => r.status === 'error')
    if (result.results.length > 0 && failed.length === result.results.length) {
      this.logToStderr(`No checkpoint could be evaluated: ${failed[0].error}`)
      process.exitCode = 1
    }
    return result
  }
}
