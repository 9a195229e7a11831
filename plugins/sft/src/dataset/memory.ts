/**
 * VQA samples straight into memory, without writing a dataset: the same samples, in the same
 * order, as `generateVqaDataset` writes for the same seed, data config and eval mode (frames are
 * not PNG round-tripped, which is lossless anyway).
 */
import {resolveDataConfig} from './config'
import type {Formats} from './formats'
import type {VqaSample} from './open'
import {clipFrames, planContext, planSample} from './samples'
import {buildCatalogue, TrajectoryLoader} from './sources'

export interface InMemoryOptions {
  /** `data.*` keys (without the prefix) */
  data?: Record<string, unknown>
  seed?: number
  evalMode?: boolean
  /** first sample index (default 0) */
  start?: number
  /** number of samples */
  count: number
  baseDir?: string
}

export async function vqaSamples(options: InMemoryOptions, formats: Formats): Promise<VqaSample[]> {
  const config = resolveDataConfig(options.data ?? {})
  const {catalogue} = await buildCatalogue(formats, config, options.baseDir ?? process.cwd())
  const ctx = planContext(catalogue, config, options.seed ?? 42, options.evalMode ?? false)
  const loader = new TrajectoryLoader(formats, config)
  const toFloat = (frames: Uint8Array[]) => frames.map((f) => Float32Array.from(f, (v) => v / 255))
  const out: VqaSample[] = []
  const start = options.start ?? 0
  for (let i = start; i < start + options.count; i++) {
    const plan = planSample(ctx, i)
    const a = await clipFrames(ctx, loader, plan.a)
    const b = plan.b ? await clipFrames(ctx, loader, plan.b) : {frames: []}
    out.push({
      index: i,
      sampleType: plan.type,
      task: plan.task,
      question: plan.question,
      answer: plan.answer,
      framesA: toFloat(a.frames),
      framesB: toFloat(b.frames),
      width: a.width,
      height: a.height,
      progressA: plan.progressA,
      progressB: plan.progressB,
      preferred: plan.preferred,
      source: plan.source,
    })
  }
  return out
}
