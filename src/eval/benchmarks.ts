/**
 * `--benchmark NAME=PATH`: the reader is chosen by NAME (cv-bench…, vsr…, vqa…), the name is kept
 * for the results. Benchmarks are read once; VQA rows come decoded at a model's input size from the
 * kind that owns the format (grpo), so they are read once per input size.
 */
import * as path from 'node:path'

import {UsageError} from '../errors'
import type {KindEvaluation} from '../plugin-api'
import {readCvBench} from './cv-bench'
import type {Benchmark, EvalSample} from './types'
import {readVsr} from './vsr'

export type BenchmarkFormat = 'cv-bench' | 'vsr' | 'vqa'

export interface BenchmarkSpec {
  name: string
  format: BenchmarkFormat
  location: string
}

export function parseBenchmarkSpec(spec: string, baseDir = process.cwd()): BenchmarkSpec {
  const eq = spec.indexOf('=')
  if (eq <= 0 || eq === spec.length - 1)
    throw new UsageError(`--benchmark ${spec} is not NAME=PATH.`, {hint: 'e.g. --benchmark cv-bench=./CV-Bench --benchmark vsr=./vsr/test.jsonl --benchmark vqa=./my_vqa'})
  const name = spec.slice(0, eq)
  const key = name.toLowerCase().replace(/[^a-z0-9]/g, '')
  const format: BenchmarkFormat | undefined = key.startsWith('cvbench') ? 'cv-bench' : key.startsWith('vsr') ? 'vsr' : key.startsWith('vqa') ? 'vqa' : undefined
  if (!format)
    throw new UsageError(`--benchmark ${name}: unknown benchmark "${name}".`, {
      hint: "Names start with cv-bench (CV-Bench parquet), vsr (VSR jsonl + images) or vqa (a VQA set in the grpo plugin's formats).",
    })
  return {name, format, location: path.resolve(baseDir, spec.slice(eq + 1))}
}

export interface BenchmarkOptions {
  maxSamples?: number
  /** VSR images folder when PATH is a .jsonl file elsewhere */
  images?: string
  /** the kind whose formats and accuracy rules the vqa benchmark uses */
  vqa?: {kind: string; evaluation: KindEvaluation}
}

export class Benchmarks {
  private readonly cache = new Map<string, Promise<Benchmark>>()

  constructor(
    readonly specs: BenchmarkSpec[],
    readonly options: BenchmarkOptions,
  ) {
    if (specs.some((s) => s.format === 'vqa') && !options.vqa?.evaluation.vqaRows) {
      throw new UsageError('--benchmark vqa=… needs the grpo plugin (its dataset formats and accuracy rules), which is not installed.', {hint: 'rfm plugins shows the installed plugins.'})
    }
  }

  /** Every benchmark read now (format errors surface before any model loads). */
  async preload(imageSize?: number): Promise<void> {
    for (const spec of this.specs) if (spec.format !== 'vqa' || imageSize !== undefined) await this.get(spec, imageSize ?? 0)
  }

  get(spec: BenchmarkSpec, imageSize: number): Promise<Benchmark> {
    const key = spec.format === 'vqa' ? `${spec.name}@${imageSize}` : spec.name
    let pending = this.cache.get(key)
    if (!pending) this.cache.set(key, (pending = this.read(spec, imageSize)))
    return pending
  }

  private async read(spec: BenchmarkSpec, imageSize: number): Promise<Benchmark> {
    const limit = this.options.maxSamples ?? Infinity
    if (spec.format === 'cv-bench') return readCvBench(spec.name, spec.location, limit)
    if (spec.format === 'vsr') return readVsr(spec.name, spec.location, this.options.images, limit)
    const {evaluation} = this.options.vqa!
    const {rows, unreadable} = await evaluation.vqaRows!(spec.location, imageSize, Number.isFinite(limit) ? limit : Number.MAX_SAFE_INTEGER)
    const samples: EvalSample[] = rows.map((r, i) => ({
      id: String(i),
      task: r.task ?? 'vqa',
      question: r.question,
      choices: r.choices,
      answer: r.answer,
      kind: 'vqa',
      image: {pixels: r.image, size: imageSize},
    }))
    return {name: spec.name, source: spec.location, samples, unreadable}
  }
}
