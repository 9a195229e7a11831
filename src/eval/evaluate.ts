/**
 * `rfm eval` end to end, shared by the command and the `eval` job kind: resolve the checkpoints,
 * read the benchmarks (format errors first, before any model loads), score each checkpoint, and
 * hand the report over after every checkpoint (the job commits it; the command rewrites --out).
 * A report from an earlier attempt resumes after its last finished checkpoint.
 */
import {LlmGrader} from '../grader/llm-grader'
import {UsageError} from '../errors'
import type {KindEvaluation} from '../plugin-api'
import {Benchmarks, parseBenchmarkSpec} from './benchmarks'
import {resolveModel} from './checkpoints'
import type {EvalRunOptions} from './options'
import type {EvalReport} from './report'
import {scoreCheckpoint} from './run'

export interface GraderOptions {
  url: string
  model: string
  apiKeyEnv?: string
  timeoutS: number
  maxConcurrency: number
}

export interface EvaluateOptions extends EvalRunOptions {
  benchmarks: string[]
  baseDir?: string
  images?: string
  grader?: GraderOptions
  batch: number
  maxNewTokens: number
  /** kind name → its evaluation hooks (from the installed plugins) */
  evaluations(): Promise<Map<string, KindEvaluation>>
}

export async function evaluate(o: EvaluateOptions): Promise<EvalReport & {stopped: boolean}> {
  if (o.benchmarks.length === 0) throw new UsageError('No benchmark given.', {hint: 'Add --benchmark NAME=PATH, e.g. --benchmark cv-bench=./CV-Bench/test_2d.parquet'})
  const specs = o.benchmarks.map((b) => parseBenchmarkSpec(b, o.baseDir))
  const names = new Set<string>()
  for (const s of specs) {
    if (names.has(s.name)) throw new UsageError(`--benchmark ${s.name} is given twice.`, {hint: 'Give each benchmark a distinct NAME, e.g. cv-bench-2d=… cv-bench-3d=…'})
    names.add(s.name)
  }
  const resolved = await resolveModel(o.model, o.checkpoints, o.runs, o.kind)
  const evaluations = await o.evaluations()
  const evaluation = resolved.kind ? evaluations.get(resolved.kind) : undefined
  const vqaEntry = [...evaluations.entries()].find(([, e]) => e.vqaRows && e.accuracy)
  const benchmarks = new Benchmarks(specs, {maxSamples: o.maxSamples, images: o.images, vqa: vqaEntry && {kind: vqaEntry[0], evaluation: vqaEntry[1]}})
  await benchmarks.preload()

  const mineNames = o.share ? o.share(resolved.sources.map((s) => s.name)) : resolved.sources.map((s) => s.name)
  const mine = resolved.sources.filter((s) => mineNames.includes(s.name))
  const grader = o.grader && new LlmGrader({baseUrl: o.grader.url, model: o.grader.model, apiKeyEnv: o.grader.apiKeyEnv, timeoutS: o.grader.timeoutS, maxConcurrency: o.grader.maxConcurrency})
  const report: EvalReport = {
    model: resolved.model,
    kind: resolved.kind ?? null,
    created: (o.now ?? new Date()).toISOString(),
    benchmarks: [],
    checkpoints: mine.map((s) => ({name: s.name, step: s.step})),
    done: [],
    grader: null,
    results: [],
  }
  if (o.resume) {
    const done = new Set(o.resume.done.filter((n) => mineNames.includes(n)))
    report.done = [...done]
    report.results = o.resume.results.filter((r) => done.has(r.checkpoint))
    if (done.size > 0) o.log(`resuming after ${done.size} evaluated checkpoint(s): ${[...done].join(', ')}`)
  }
  o.log(
    `evaluating ${mine.length - report.done.length} checkpoint(s) of ${resolved.model}${resolved.kind ? ` (${resolved.kind})` : ''} on ${specs.map((s) => `${s.name} (${s.format})`).join(', ')}${o.maxSamples ? `, first ${o.maxSamples} rows each` : ''}`,
  )

  const trainer = await import('../trainer/index.js')
  const formats = await import('../formats/index.js')
  const backend = await trainer.selectBackend('auto')
  o.log(`trainer backend: ${trainer.describeBackend(backend)}`)
  const ctx = {trainer, tf: backend.tf as never, formats, benchmarks, evaluation, vqaRules: vqaEntry?.[1], grader, batch: o.batch, maxNewTokens: o.maxNewTokens, log: o.log}
  const summarise = async () => {
    report.benchmarks = await Promise.all(
      specs
        .filter((s) => s.format !== 'vqa' || report.results.some((r) => r.benchmark === s.name))
        .map(async (s) => {
          const rows = report.results.filter((r) => r.benchmark === s.name && r.task === 'all' && r.status === 'ok')
          const b = s.format === 'vqa' ? undefined : await benchmarks.get(s, 0)
          return {
            name: s.name,
            format: s.format,
            source: b?.source ?? s.location,
            samples: b ? b.samples.length : (rows[0]?.samples ?? 0),
            unreadable: b ? b.unreadable.length : (rows[0]?.unreadable ?? 0),
          }
        }),
    )
    report.grader = grader ? {...grader.stats, model: grader.config.model, base_url: grader.config.baseUrl} : null
  }
  let stopped = false
  for (const source of mine) {
    if (report.done.includes(source.name)) continue
    if (o.stopRequested?.()) {
      stopped = true
      break
    }
    report.results.push(...(await scoreCheckpoint(ctx, source)))
    report.done.push(source.name)
    await summarise()
    await o.onCheckpoint?.(report)
  }
  await summarise()
  if (grader)
    o.log(
      `grader ${grader.config.model} at ${grader.config.baseUrl}: ${grader.stats.graded} graded, ${grader.stats.fallbacks} fallbacks to the rules${grader.stats.lastFailure ? ` (last: ${grader.stats.lastFailure})` : ''}, ${grader.stats.cacheHits} cache hits`,
    )
  return {...report, stopped}
}
