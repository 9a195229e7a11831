/**
 * A run's metrics.jsonl as chart series: read incrementally (only the bytes added since the last
 * read), one series per metric, downsampled on the server so that a page stays fast with 100 k
 * points, plus the markers the curves carry (attempt spans, interruptions, resumes, checkpoints).
 */
import type {ObjectStore} from '../store/types'
import type {Attempt, RunRecord} from '../runs/record'

export interface MetricPoint {
  step: number
  /** ms since the epoch, from the record's `time` */
  time: number
  value: number
}

export interface SeriesOut {
  metric: string
  /** points in metrics.jsonl for this metric, before downsampling */
  count: number
  step: number[]
  time: number[]
  value: number[]
}

export interface Marker {
  kind: 'attempt' | 'interruption' | 'resume' | 'checkpoint'
  attempt?: number
  step: number
  time: number
  /** attempt spans: where the attempt ended (or the last point so far) */
  endStep?: number
  endTime?: number
  label: string
}

/** Parsed metrics of one run, kept between requests; `refresh` reads only what was appended. */
export class MetricsCache {
  private offset = 0
  private rest = ''
  readonly series = new Map<string, MetricPoint[]>()
  /** every record's (time, step), in file order: maps a moment to the step the run had reached */
  readonly timeline: Array<{time: number; step: number}> = []
  records = 0

  constructor(
    private readonly store: ObjectStore,
    private readonly key: string,
  ) {}

  async refresh(): Promise<void> {
    const chunk = await this.store.getFrom(this.key, this.offset)
    if (!chunk || chunk.length === 0) return
    this.offset += chunk.length
    const lines = (this.rest + chunk.toString('utf8')).split('\n')
    // The last piece is a line still being written (or ''): keep it for the next read.
    this.rest = lines.pop() ?? ''
    for (const line of lines) this.add(line)
  }

  private add(line: string): void {
    if (!line.trim()) return
    let record: Record<string, unknown>
    try {
      record = JSON.parse(line) as Record<string, unknown>
    } catch {
      return
    }
    const step = Number(record.step)
    if (!Number.isFinite(step)) return
    const time = typeof record.time === 'string' ? Date.parse(record.time) : NaN
    this.records++
    if (Number.isFinite(time)) this.timeline.push({time, step})
    for (const [metric, value] of Object.entries(record)) {
      if (metric === 'step' || metric === 'time' || typeof value !== 'number' || !Number.isFinite(value)) continue
      let points = this.series.get(metric)
      if (!points) this.series.set(metric, (points = []))
      points.push({step, time, value})
    }
  }

  /** The step the run had logged last at `time` (undefined before its first record). */
  stepAt(time: number): number | undefined {
    let found: number | undefined
    for (const point of this.timeline) {
      if (point.time > time) break
      found = point.step
    }
    return found
  }
}

/**
 * Min/max-preserving downsampling: the points (in file order) are cut into `buckets` runs of equal
 * length; each bucket keeps its first and last point and its minimum and maximum, in their original
 * order. Spikes (a loss blow-up, an eval dip) survive, and at most 4 × buckets points go out.
 */
export function downsample(points: MetricPoint[], buckets: number): MetricPoint[] {
  if (points.length <= buckets * 4) return points
  const out: MetricPoint[] = []
  const size = points.length / buckets
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size)
    const to = Math.min(points.length, Math.floor((b + 1) * size))
    if (to <= from) continue
    let min = from
    let max = from
    for (let i = from + 1; i < to; i++) {
      if (points[i].value < points[min].value) min = i
      if (points[i].value > points[max].value) max = i
    }
    for (const i of [...new Set([from, min, max, to - 1])].sort((x, y) => x - y)) out.push(points[i])
  }
  return out
}

export function seriesOut(metric: string, points: MetricPoint[], buckets: number): SeriesOut {
  const kept = downsample(points, buckets)
  return {metric, count: points.length, step: kept.map((p) => p.step), time: kept.map((p) => p.time), value: kept.map((p) => p.value)}
}

/** Why an attempt stopped early, when it did: a chaos kill, a spot notice, a signal, a retried exit. */
export function interruptionCause(a: Attempt): string | undefined {
  if (a.chaos) return `chaos ${a.chaos}`
  if (a.interruptedBy) return a.interruptedBy
  if (a.action === 'retry') return a.signal ? a.signal : `exit ${a.exitCode}`
  return undefined
}

/** Marks on the curves from the record and the committed checkpoints, placed by step and by time. */
export function markers(run: RunRecord, metrics: MetricsCache, checkpoints: Array<{step: number; createdAt: string; attempt?: number}>): Marker[] {
  const out: Marker[] = []
  const lastStep = metrics.timeline.at(-1)?.step ?? 0
  for (const a of run.attempts) {
    const start = Date.parse(a.startedAt)
    const end = a.endedAt ? Date.parse(a.endedAt) : Date.now()
    const startStep = a.resumedFromStep ?? (a.index === 1 ? 0 : (metrics.stepAt(start) ?? 0))
    const endStep = a.endedAt ? (metrics.stepAt(end) ?? startStep) : lastStep
    out.push({kind: 'attempt', attempt: a.index, step: startStep, time: start, endStep, endTime: end, label: `attempt ${a.index}`})
    if (a.resumedFromStep !== undefined) out.push({kind: 'resume', attempt: a.index, step: a.resumedFromStep, time: start, label: `attempt ${a.index} resumed from step ${a.resumedFromStep}`})
    const cause = interruptionCause(a)
    if (cause && a.endedAt) out.push({kind: 'interruption', attempt: a.index, step: endStep, time: end, label: `attempt ${a.index} interrupted: ${cause}`})
  }
  for (const c of checkpoints) out.push({kind: 'checkpoint', ...(c.attempt ? {attempt: c.attempt} : {}), step: c.step, time: Date.parse(c.createdAt), label: `checkpoint step ${c.step}`})
  return out
}
