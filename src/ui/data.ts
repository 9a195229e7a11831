/**
 * What the dashboard shows, built from the same core functions as the CLI: the run store, the
 * backend's refresh/observe (`rfm cloud status`, `ls`), the cost report (`rfm cloud cost`), the
 * checkpoint rows (`rfm ckpt ls`) and the logs (`rfm cloud logs`). Each API answer has the shape of
 * the matching command's --json output (src/schemas).
 */
import type {Backend, LiveView} from '../backends/types'
import {checkpointRows, type CheckpointRow} from '../checkpoint/rows'
import {runDuration} from '../cli/render'
import {costTotal, runCost, type CostTotal, type PriceSource, type RunCost} from '../cost/report'
import {FINAL_STATES, type RunRecord} from '../runs/record'
import {RunStore} from '../runs/run-store'
import {runSummary, type RunSummary} from '../runs/summary'
import {interruptionCause, markers, MetricsCache, seriesOut, type Marker, type SeriesOut} from './metrics'
import {findResults, type ResultsTable} from './results'

export interface DashboardRow extends RunSummary {
  duration: string
  interruptions: number
  cost: {applicable: boolean; total: number | null; note?: string}
}

export interface MetricsResult {
  run: string
  records: number
  buckets: number
  series: SeriesOut[]
  markers: Marker[]
}

/** Cloud runs are refreshed from the backend at most this often (each refresh calls its API). */
const REFRESH_MS = 15_000
/** Prices of a running cloud run are recomputed at most this often. */
const COST_MS = 60_000

/** Loads spot/on-demand prices only when a cloud run needs them (the AWS SDK stays unloaded otherwise). */
class LazyPrices implements PriceSource {
  private source?: Promise<PriceSource>
  private get(): Promise<PriceSource> {
    this.source ??= import('../cost/prices.js').then(({AwsPriceSource}) => new AwsPriceSource())
    return this.source
  }
  async spotHistory(...args: Parameters<PriceSource['spotHistory']>) {
    return (await this.get()).spotHistory(...args)
  }
  async onDemandPrice(...args: Parameters<PriceSource['onDemandPrice']>) {
    return (await this.get()).onDemandPrice(...args)
  }
}

export class DashboardData {
  private readonly refreshedAt = new Map<string, number>()
  private readonly costs = new Map<string, {at: number; updatedAt: string; cost?: RunCost; error?: Error}>()
  private readonly metrics = new Map<string, MetricsCache>()
  private readonly prices: PriceSource

  constructor(
    readonly runs: RunStore,
    readonly backend: Backend,
    prices?: PriceSource,
  ) {
    this.prices = prices ?? new LazyPrices()
  }

  /** The record, brought up to date by a cloud backend (throttled) as `rfm cloud status` does. */
  async record(id: string, run?: RunRecord): Promise<RunRecord | undefined> {
    run ??= await this.runs.find(id)
    if (!run) return undefined
    if (this.backend.refresh && run.backend.name === this.backend.name && !FINAL_STATES.has(run.state)) {
      const last = this.refreshedAt.get(id) ?? 0
      if (Date.now() - last > REFRESH_MS) {
        this.refreshedAt.set(id, Date.now())
        run = await this.backend.refresh(run, this.runs)
      }
    }
    return run
  }

  async status(id: string): Promise<{run: RunRecord; live: LiveView} | undefined> {
    const run = await this.record(id)
    if (!run) return undefined
    return {run, live: await this.backend.observe(run)}
  }

  /** `rfm cloud ls --json` rows. */
  async list(): Promise<{runs: RunSummary[]}> {
    return {runs: (await this.rows()).map(({duration: _d, interruptions: _i, cost: _c, ...summary}) => summary)}
  }

  /** The list page: `rfm cloud ls` rows plus duration, interruptions and cost so far. */
  async rows(): Promise<DashboardRow[]> {
    const rows: DashboardRow[] = []
    for (const listed of await this.runs.list()) {
      const run = (await this.record(listed.id, listed))!
      const state = (await this.backend.observe(run)).state ?? run.state
      rows.push({
        ...runSummary(run, state),
        duration: runDuration(run),
        interruptions: run.attempts.filter((a) => interruptionCause(a) !== undefined).length,
        cost: await this.costCell(run),
      })
    }
    return rows
  }

  /**
   * `rfm cloud cost RUN` for one run, cached: a finished run's cost does not change, and a price
   * lookup that failed (no AWS credentials here) is not retried on every live update.
   */
  async cost(run: RunRecord): Promise<RunCost> {
    const cached = this.costs.get(run.id)
    const fresh = cached && cached.updatedAt === run.updatedAt && ((FINAL_STATES.has(run.state) && !cached.error) || Date.now() - cached.at < COST_MS)
    if (fresh) {
      if (cached.error) throw cached.error
      return cached.cost!
    }
    try {
      const cost = await runCost(run, await this.runs.events(run.id), this.prices)
      this.costs.set(run.id, {at: Date.now(), updatedAt: run.updatedAt, cost})
      return cost
    } catch (error) {
      this.costs.set(run.id, {at: Date.now(), updatedAt: run.updatedAt, error: error as Error})
      throw error
    }
  }

  /** The list's cost column: a run whose prices cannot be read shows "?" with the reason, not a broken list. */
  private async costCell(run: RunRecord): Promise<DashboardRow['cost']> {
    try {
      const cost = await this.cost(run)
      return {applicable: cost.applicable, total: cost.applicable ? cost.totalCost : null, ...(cost.note ? {note: cost.note} : {})}
    } catch (error) {
      return {applicable: true, total: null, note: `prices unavailable: ${(error as Error).message}`}
    }
  }

  async costReport(id: string): Promise<{runs: RunCost[]; total: CostTotal} | undefined> {
    const run = await this.record(id)
    if (!run) return undefined
    const runs = [await this.cost(run)]
    return {runs, total: costTotal(runs)}
  }

  async checkpoints(id: string): Promise<{run: string; checkpoints: CheckpointRow[]}> {
    return {run: id, checkpoints: await checkpointRows(this.runs.store, id)}
  }

  /** `rfm cloud logs RUN --json`; `tail` keeps the last characters of each attempt's log (from a line start). */
  async logs(id: string, options: {attempt?: number; tail?: number} = {}): Promise<{run: string; state: string; attempts: Array<{attempt: number; log: string}>} | undefined> {
    const run = await this.record(id)
    if (!run) return undefined
    const attempts: Array<{attempt: number; log: string}> = []
    if (this.backend.streamLogs && run.backend.name === this.backend.name) {
      // Logs outside the store (AWS Batch: CloudWatch), read once as `rfm cloud logs` does.
      const collected = new Map<number, string>()
      await this.backend.streamLogs(run, this.runs, {follow: false, attempt: options.attempt, onChunk: ({attempt, text}) => collected.set(attempt, (collected.get(attempt) ?? '') + text)})
      for (const [attempt, log] of collected) attempts.push({attempt, log})
    } else {
      for (const a of run.attempts) {
        if (options.attempt && a.index !== options.attempt) continue
        attempts.push({attempt: a.index, log: (await this.runs.store.get(RunStore.logKey(run.id, a.index)))?.toString('utf8') ?? ''})
      }
    }
    const tail = options.tail
    if (tail) for (const a of attempts) if (a.log.length > tail) a.log = a.log.slice(a.log.length - tail).replace(/^[^\n]*\n/, '')
    return {run: run.id, state: run.state, attempts}
  }

  async metricsOf(id: string): Promise<MetricsCache> {
    let cache = this.metrics.get(id)
    if (!cache) this.metrics.set(id, (cache = new MetricsCache(this.runs.store, RunStore.runKey(id, 'metrics.jsonl'))))
    await cache.refresh()
    return cache
  }

  async metricsResult(id: string, buckets: number): Promise<MetricsResult | undefined> {
    const run = await this.record(id)
    if (!run) return undefined
    const cache = await this.metricsOf(id)
    const {checkpoints} = await this.checkpoints(id)
    const series = [...cache.series].map(([metric, points]) => seriesOut(metric, points, buckets))
    return {run: id, records: cache.records, buckets, series, markers: markers(run, cache, checkpoints)}
  }

  async results(id: string): Promise<{run: string; tables: ResultsTable[]}> {
    return {run: id, tables: await findResults(this.runs.store, id)}
  }

  /** What changes when a run progresses: its record, its metrics and the newest log (for live updates). */
  async fingerprint(id: string): Promise<string> {
    const run = await this.record(id)
    if (!run) return 'missing'
    const metrics = await this.runs.store.head(RunStore.runKey(id, 'metrics.jsonl'))
    const last = run.attempts.at(-1)
    const log = last ? await this.runs.store.head(RunStore.logKey(id, last.index)) : undefined
    return `${run.updatedAt}|${run.state}|${run.attempts.length}|${metrics?.size ?? 0}|${log?.size ?? 0}`
  }
}
