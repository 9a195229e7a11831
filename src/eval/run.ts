/**
 * Scores checkpoints on benchmarks: each checkpoint is loaded once, asks every benchmark's questions
 * and is judged (rules, or the LLM grader for free-form VQA answers with the rules as fallback).
 * A checkpoint that cannot be loaded gives error rows; an image that does not decode is counted as
 * unreadable; neither stops the evaluation.
 */
import type {LlmGrader} from '../grader/llm-grader'
import type {KindEvaluation} from '../plugin-api'
import type {Benchmarks} from './benchmarks'
import type {CheckpointSource} from './checkpoints'
import {answerAll, Asked, loadModel, modelImage, unspaced} from './model'
import {accuracyRows, Judged, ruleCorrect} from './score'
import type {EvalSample, ResultRow} from './types'

type TrainerModule = typeof import('../trainer/index')
type Formats = typeof import('../formats/index')

export interface ScoreContext {
  trainer: TrainerModule
  tf: Parameters<TrainerModule['generate']>[0]['tf']
  formats: Formats
  benchmarks: Benchmarks
  /** how the model's kind asks and reads answers (grpo: JSON); undefined = plain question and answer */
  evaluation?: KindEvaluation
  /** the vqa benchmark's accuracy rules */
  vqaRules?: KindEvaluation
  grader?: LlmGrader
  batch: number
  maxNewTokens: number
  log(line: string): void
}

function errorRows(source: CheckpointSource, benchmarks: Benchmarks, error: string): ResultRow[] {
  return benchmarks.specs.map((spec) => ({
    checkpoint: source.name,
    step: source.step,
    benchmark: spec.name,
    task: 'all',
    accuracy: null,
    samples: 0,
    correct: 0,
    unreadable: 0,
    graded: 0,
    grader_fallbacks: 0,
    status: 'error' as const,
    error,
  }))
}

async function judge(ctx: ScoreContext, sample: EvalSample, completion: string): Promise<Judged> {
  const parsed = ctx.evaluation?.answer ? ctx.evaluation.answer(completion) : unspaced(completion)
  if (sample.kind !== 'vqa') return {sample, correct: parsed !== undefined && ruleCorrect(sample, parsed), graded: false, fallback: false}
  const q = {question: sample.question, answer: sample.answer, choices: sample.choices, task: sample.task}
  const rule = ctx.vqaRules!.accuracy!(parsed, q).correct
  if (!ctx.grader) return {sample, correct: rule, graded: false, fallback: false}
  const verdict = await ctx.grader.grade({question: sample.question, gold: sample.answer, answer: parsed ?? completion})
  return {sample, correct: verdict ?? rule, graded: verdict !== undefined, fallback: verdict === undefined}
}

/** The rows of one checkpoint: per benchmark, one per task plus the aggregates. */
export async function scoreCheckpoint(ctx: ScoreContext, source: CheckpointSource): Promise<ResultRow[]> {
  let loaded
  try {
    loaded = loadModel(ctx.trainer, ctx.tf, await source.read())
  } catch (error) {
    ctx.log(`${source.name}: ERROR ${(error as Error).message}`)
    return errorRows(source, ctx.benchmarks, (error as Error).message)
  }
  try {
    const rows: ResultRow[] = []
    for (const spec of ctx.benchmarks.specs) {
      const bench = await ctx.benchmarks.get(spec, loaded.imageSize)
      const asked: Asked[] = []
      const kept: EvalSample[] = []
      const unreadable = [...bench.unreadable]
      for (const s of bench.samples) {
        try {
          const image = 'pixels' in s.image ? s.image.pixels : modelImage(ctx.formats, s.image, s.image.source, loaded.imageSize)
          asked.push({q: {question: s.question, answer: s.answer, choices: s.choices, task: s.task}, image})
          kept.push(s)
        } catch (error) {
          unreadable.push(`${s.id}: ${(error as Error).message}`)
        }
      }
      const completions = answerAll(ctx.trainer, loaded, asked, ctx.evaluation, {batch: ctx.batch, maxNewTokens: ctx.maxNewTokens})
      const judged: Judged[] = []
      for (const [i, s] of kept.entries()) judged.push(await judge(ctx, s, completions[i]))
      const part = accuracyRows({checkpoint: source.name, step: source.step, benchmark: spec.name}, judged, unreadable.length, bench.aggregate)
      const all = part.at(-1)!
      if (unreadable.length > 0) all.unreadable_rows = unreadable.slice(0, 20)
      ctx.log(
        `${source.name} ${spec.name}: accuracy ${all.accuracy === null ? '-' : all.accuracy.toFixed(4)} on ${all.samples} samples${unreadable.length > 0 ? `, ${unreadable.length} unreadable (${unreadable.slice(0, 3).join('; ')}${unreadable.length > 3 ? '; …' : ''})` : ''}`,
      )
      for (const [i, s] of kept.slice(0, 3).entries()) ctx.log(`  e.g. ${s.id} [${s.task}] gold ${s.answer} ← "${completions[i].slice(0, 80)}"`)
      rows.push(...part)
    }
    return rows
  } finally {
    loaded.dispose()
  }
}
