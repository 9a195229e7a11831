/**
 * The `eval` kind's trainer: `evaluate()` inside the runtime. After every checkpoint the report so
 * far is committed as a checkpoint of the eval run (step = checkpoints done; the last one final):
 * eval_results.csv, eval_results.json and the log. A new attempt reads eval_results.json of the
 * newest commit and goes on after its last checkpoint. An array child (RFM_ARRAY_INDEX of
 * RFM_ARRAY_SIZE) scores checkpoints index, index + size, …
 */
import type {KindEvaluation, TrainerContext, TrainOutcome} from '../plugin-api'
import {openStore} from '../store/open'
import {RunStore} from '../runs/run-store'
import {arraySlot, shareOf} from '../runtime/protocol'
import {evaluate} from './evaluate'
import {runExternal} from './external'
import {JSON_FILE, reportFiles} from './files'
import type {EvalReport} from './report'

export interface EvalJobConfig {
  model?: string
  model_dir?: string
  model_kind?: string
  checkpoints: 'all' | 'best' | 'final' | 'latest' | number
  benchmarks: {cv_bench?: string; vsr?: string; vqa?: string}
  images?: string
  max_samples?: number
  batch_size: number
  max_new_tokens: number
  llm_grader?: {base_url: string; model: string; api_key_env?: string; timeout_s: number; max_concurrency: number}
  external?: {command: string | string[]; workdir: string; env: Record<string, string>}
}

export async function evaluateInJob(ctx: TrainerContext, c: EvalJobConfig, evaluations: () => Promise<Map<string, KindEvaluation>>): Promise<TrainOutcome> {
  const now = new Date()
  const lines: string[] = []
  const log = (line: string) => {
    lines.push(`${new Date().toISOString()} ${line}`)
    ctx.log(line)
  }
  const slot = arraySlot()
  if (slot) log(`array child ${slot.index} of ${Number.isFinite(slot.size) ? slot.size : '?'}`)
  const latest = await ctx.checkpoints.loadLatest()
  const resume = latest?.files[JSON_FILE] ? (JSON.parse(Buffer.from(latest.files[JSON_FILE]).toString('utf8')) as EvalReport) : undefined
  // the external script's output files so far (committed with every report, restored on resume)
  const outputs: Record<string, Uint8Array> = Object.fromEntries(Object.entries(latest?.files ?? {}).filter(([name]) => name.startsWith('external/')))
  const save = async (report: EvalReport, final: boolean) => {
    const withSlot = {...report, array: slot ? {index: slot.index, size: Number.isFinite(slot.size) ? slot.size : null} : null}
    await ctx.checkpoints.save(report.done.length, {...outputs, ...reportFiles(withSlot, lines, now)}, {evaluated: report.done.length}, {final})
  }
  const storeUrl = process.env.RFM_STORE
  const common = {
    model: c.model_dir ?? c.model!,
    checkpoints: c.checkpoints,
    kind: c.model_kind,
    runs: async () => {
      if (!storeUrl) throw new Error('RFM_STORE is not set: this runtime cannot read runs of its store')
      return new RunStore(await openStore(storeUrl))
    },
    log,
    share: (names: string[]) => shareOf(names, slot),
    resume,
    stopRequested: () => ctx.stopRequested(),
    now,
  }
  const report = c.external
    ? await runExternal({...common, external: c.external, maxSamples: c.max_samples, workDir: ctx.workDir, outputs, onCheckpoint: (r) => save(r, r.done.length === r.checkpoints.length)})
    : await evaluate({
        ...common,
        benchmarks: Object.entries(c.benchmarks)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k.replace('_', '-')}=${v}`),
        maxSamples: c.max_samples,
        images: c.images,
        grader: c.llm_grader && {
          url: c.llm_grader.base_url,
          model: c.llm_grader.model,
          apiKeyEnv: c.llm_grader.api_key_env,
          timeoutS: c.llm_grader.timeout_s,
          maxConcurrency: c.llm_grader.max_concurrency,
        },
        batch: c.batch_size,
        maxNewTokens: c.max_new_tokens,
        evaluations,
        onCheckpoint: (r) => save(r, r.done.length === r.checkpoints.length),
      })
  if (report.stopped) return {step: report.done.length, finished: false}
  // nothing to score in this share: the (empty) report is still this child's final result
  if (report.checkpoints.length === 0 && !latest) await save(report, true)
  log(`evaluated ${report.done.length} of ${report.checkpoints.length} checkpoint(s)`)
  return {step: report.done.length, finished: true}
}
