/**
 * Cost of a run across its recoveries: each attempt priced at the spot price in force for its
 * instance type and zone over its charged window (or on-demand), the total, the time lost to
 * interruptions (from the last committed checkpoint to each reclaim), and savings vs on-demand.
 * The window runs from when the instance started costing the attempt (host boot, image pull: see
 * chargedStart) to the container's stop; the part before the container started is its overhead.
 */
import type {BatchRequest, RunEvent, RunRecord} from '../runs/record'

export interface PricePoint {
  /** ms since the epoch */
  time: number
  /** USD per instance-hour */
  price: number
}

export interface PriceSource {
  /** Spot price history of a type in a zone, covering [start, end] (the price in force at start included). */
  spotHistory(instanceType: string, availabilityZone: string, start: Date, end: Date): Promise<PricePoint[]>
  onDemandPrice(instanceType: string, region: string): Promise<number | undefined>
  /** GPUs of an instance type (catalog), for the share of a multi-GPU instance a job is charged */
  instanceGpus?(instanceType: string): Promise<number | undefined>
  /** the catalog's rough boot + image pull seconds, charged ("estimated") when nothing was observed */
  startupSeconds?(): Promise<number | undefined>
}

/** Where the number a charged window starts at came from. */
export type WindowSource = 'batch' | 'observed' | 'estimated'

export interface ChargedStart {
  /** ms since the epoch */
  time: number
  source: WindowSource
  /** what the time is, in words */
  basis: string
}

export interface AttemptCost {
  attempt: number
  arrayIndex?: number
  instanceType?: string
  availabilityZone?: string
  market: 'spot' | 'on-demand' | 'unknown'
  /** the container started (Batch's startedAt) */
  startedAt: string
  endedAt?: string
  /** the container's run time, startedAt to endedAt (or now) */
  seconds: number
  /** when the attempt's charge starts: at startedAt or before it (boot, image pull) */
  chargedFrom: string
  chargedFromSource: WindowSource
  chargedFromBasis: string
  /** seconds charged before the container started (chargedFrom to startedAt) */
  overheadSeconds: number
  /** their cost (included in cost) */
  overheadCost: number | null
  /** average price over the charged window, USD/h */
  pricePerHour: number | null
  cost: number | null
  onDemandCost: number | null
  /** reclaimed or otherwise interrupted and retried */
  interrupted: boolean
  /** seconds of work since the last committed checkpoint, lost to the interruption */
  lostSeconds: number
  /**
   * the share of the instance charged to this attempt: GPUs requested ÷ the instance's GPUs, when
   * Batch packed a smaller job onto a multi-GPU instance (1 when the job has the whole instance)
   */
  share?: number
  note?: string
}

export interface RunCost {
  runId: string
  kind: string
  backend: string
  state: string
  applicable: boolean
  note?: string
  currency: 'USD'
  attempts: AttemptCost[]
  totalCost: number | null
  onDemandCost: number | null
  savings: number | null
  lostSeconds: number
  lostCost: number | null
  overheadSeconds: number
  overheadCost: number | null
}

export interface AttemptLike {
  index: number
  arrayIndex?: number
  startedAt: string
  endedAt?: string
  action?: string
  interruptedBy?: string
  instanceType?: string
  availabilityZone?: string
  lifecycle?: string
  runnableSince?: string
  startingSeenAt?: string
  hostBootedAt?: string
}

const round = (n: number) => Math.round(n * 1e6) / 1e6

export function regionOf(availabilityZone: string): string {
  return availabilityZone.replace(/[a-z]$/, '')
}

/** ∫ price dt over [start, end] in USD, with the price in force stepping at each history point. */
export function integrate(history: PricePoint[], start: number, end: number): number | undefined {
  const points = [...history].sort((a, b) => a.time - b.time)
  if (points.length === 0 || end <= start) return points.length === 0 ? undefined : 0
  let cost = 0
  for (let i = 0; i < points.length; i++) {
    // The first point's price stands for any time before it (the history may begin after start).
    const from = Math.max(start, i === 0 ? start : points[i].time)
    const to = Math.min(end, i + 1 < points.length ? points[i + 1].time : end)
    if (to > from) cost += (points[i].price * (to - from)) / 3_600_000
  }
  return cost
}

/**
 * Where an attempt's bill starts. Batch dates only the container (startedAt: STARTING → RUNNING),
 * not the placement, image pull or instance boot before it, so the earliest of what rfm observed
 * counts: the host's boot (the runtime reads its uptime) when the host booted after the attempt
 * became runnable (an older host was already up: its boot is not this attempt's), and the first
 * time rfm's sync saw the attempt STARTING. Without either, the catalog's estimate. Nothing is
 * charged before the attempt became runnable (Batch's createdAt, or the previous attempt's stop).
 */
export function chargedStart(a: AttemptLike, startupSeconds?: number): ChargedStart {
  const started = Date.parse(a.startedAt)
  const floor = a.runnableSince ? Date.parse(a.runnableSince) : undefined
  const seen = a.startingSeenAt ? Date.parse(a.startingSeenAt) : Number.NaN
  const booted = a.hostBootedAt ? Date.parse(a.hostBootedAt) : Number.NaN
  const hostReused = floor !== undefined && booted < floor
  const observed: ChargedStart[] = []
  if (booted < started && !hostReused) observed.push({time: booted, source: 'observed', basis: 'the host booted (its uptime, read by the runtime)'})
  if (seen < started) observed.push({time: seen, source: 'observed', basis: 'rfm first saw the attempt STARTING'})
  let best = observed.sort((x, y) => x.time - y.time)[0]
  if (!best && startupSeconds && !hostReused) {
    best = {time: started - startupSeconds * 1000, source: 'estimated', basis: `catalog estimate of instance boot and image pull (${startupSeconds} s)`}
  }
  if (!best) return {time: started, source: 'batch', basis: hostReused ? 'container start (Batch startedAt); the host was already up' : 'container start (Batch startedAt)'}
  if (floor !== undefined && best.time < floor) {
    return {time: floor, source: 'batch', basis: a.index === 1 ? 'job created (Batch createdAt)' : 'previous attempt stopped (Batch stoppedAt)'}
  }
  return best
}

export function notApplicable(run: RunRecord, note: string): RunCost {
  return {
    runId: run.id,
    kind: run.kind,
    backend: run.backend.name,
    state: run.state,
    applicable: false,
    note,
    currency: 'USD',
    attempts: [],
    totalCost: 0,
    onDemandCost: 0,
    savings: 0,
    lostSeconds: 0,
    lostCost: 0,
    overheadSeconds: 0,
    overheadCost: 0,
  }
}

export async function runCost(run: RunRecord, events: RunEvent[], prices: PriceSource, now = Date.now()): Promise<RunCost> {
  if (run.backend.name === 'local') return notApplicable(run, 'runs on this machine: no cloud cost')
  const request: BatchRequest | undefined = run.backend.request
  const queue = request?.queue
  const gpusRequested = request?.resources?.gpus
  const startupSeconds = await prices.startupSeconds?.()
  const attempts: AttemptCost[] = []
  for (const a of run.attempts as AttemptLike[]) {
    const start = Date.parse(a.startedAt)
    const end = a.endedAt ? Date.parse(a.endedAt) : now
    const seconds = Math.max(0, (end - start) / 1000)
    const from = chargedStart(a, startupSeconds)
    const chargedFrom = Math.min(from.time, start)
    const overheadSeconds = (start - chargedFrom) / 1000
    const chargedSeconds = seconds + overheadSeconds
    const interrupted = a.action === 'retry' || a.interruptedBy !== undefined
    const commits = events.filter((e) => e.type === 'checkpoint_committed' && e.attempt === a.index && e.arrayIndex === a.arrayIndex && Date.parse(e.time) <= end)
    const lastCommit = commits.length > 0 ? Math.max(...commits.map((e) => Date.parse(e.time))) : start
    const lostSeconds = interrupted && a.endedAt ? Math.max(0, (end - Math.max(start, lastCommit)) / 1000) : 0
    const market = a.lifecycle === 'spot' ? 'spot' : a.lifecycle === 'on-demand' || a.lifecycle === 'normal' ? 'on-demand' : queue === 'on-demand' ? 'on-demand' : queue === 'spot' ? 'spot' : 'unknown'
    const row: AttemptCost = {
      attempt: a.index,
      ...(a.arrayIndex !== undefined ? {arrayIndex: a.arrayIndex} : {}),
      ...(a.instanceType ? {instanceType: a.instanceType} : {}),
      ...(a.availabilityZone ? {availabilityZone: a.availabilityZone} : {}),
      market,
      startedAt: a.startedAt,
      ...(a.endedAt ? {endedAt: a.endedAt} : {}),
      seconds: round(seconds),
      chargedFrom: new Date(chargedFrom).toISOString(),
      chargedFromSource: from.source,
      chargedFromBasis: from.basis,
      overheadSeconds: round(overheadSeconds),
      overheadCost: null,
      pricePerHour: null,
      cost: null,
      onDemandCost: null,
      interrupted,
      lostSeconds: round(lostSeconds),
    }
    if (!a.instanceType || !a.availabilityZone) {
      row.note = 'instance type or zone unknown (the runtime could not read the instance metadata)'
      attempts.push(row)
      continue
    }
    // Batch packs several small jobs onto one multi-GPU instance; each is charged its GPUs' share.
    const instanceGpus = await prices.instanceGpus?.(a.instanceType)
    const share = gpusRequested && instanceGpus && gpusRequested < instanceGpus ? gpusRequested / instanceGpus : 1
    if (share < 1) row.share = round(share)
    const onDemand = (await prices.onDemandPrice(a.instanceType, regionOf(a.availabilityZone))) ?? undefined
    const charged = (price: number) => price * share
    if (onDemand !== undefined) row.onDemandCost = round((charged(onDemand) * chargedSeconds) / 3600)
    let cost: number | undefined
    let overheadCost: number | undefined
    if (market === 'spot') {
      const history = await prices.spotHistory(a.instanceType, a.availabilityZone, new Date(chargedFrom), new Date(end))
      const whole = integrate(history, chargedFrom, end)
      cost = whole === undefined ? undefined : charged(whole)
      overheadCost = whole === undefined ? undefined : charged(integrate(history, chargedFrom, start) ?? 0)
      if (cost === undefined) row.note = 'no spot price history for this type and zone'
      else row.pricePerHour = chargedSeconds > 0 ? round((cost * 3600) / chargedSeconds) : (history.at(-1)?.price ?? null)
    } else if (onDemand !== undefined) {
      cost = (charged(onDemand) * chargedSeconds) / 3600
      overheadCost = (charged(onDemand) * overheadSeconds) / 3600
      row.pricePerHour = round(charged(onDemand))
    } else row.note = `no on-demand price for ${a.instanceType} in ${regionOf(a.availabilityZone)} in the catalog`
    if (cost !== undefined) row.cost = round(cost)
    if (overheadCost !== undefined) row.overheadCost = round(overheadCost)
    attempts.push(row)
  }
  const known = attempts.every((a) => a.cost !== null)
  const total = attempts.reduce((s, a) => s + (a.cost ?? 0), 0)
  const onDemandKnown = attempts.every((a) => a.onDemandCost !== null)
  const onDemandTotal = attempts.reduce((s, a) => s + (a.onDemandCost ?? 0), 0)
  const lostSeconds = attempts.reduce((s, a) => s + a.lostSeconds, 0)
  const lostCost = attempts.reduce((s, a) => s + (a.pricePerHour === null ? 0 : (a.pricePerHour * a.lostSeconds) / 3600), 0)
  const overheadSeconds = attempts.reduce((s, a) => s + a.overheadSeconds, 0)
  const overheadCost = attempts.reduce((s, a) => s + (a.overheadCost ?? 0), 0)
  return {
    runId: run.id,
    kind: run.kind,
    backend: run.backend.name,
    state: run.state,
    applicable: true,
    ...(known ? {} : {note: 'some attempts could not be priced; totals cover the others'}),
    currency: 'USD',
    attempts,
    totalCost: round(total),
    onDemandCost: onDemandKnown ? round(onDemandTotal) : null,
    savings: onDemandKnown ? round(onDemandTotal - total) : null,
    lostSeconds: round(lostSeconds),
    lostCost: round(lostCost),
    overheadSeconds: round(overheadSeconds),
    overheadCost: round(overheadCost),
  }
}

export interface CostTotal {
  cost: number
  onDemandCost: number
  savings: number
  lostSeconds: number
  lostCost: number
  overheadSeconds: number
  overheadCost: number
}

/** The sums `rfm cloud cost` prints under its runs (unknown amounts count as 0). */
export function costTotal(runs: RunCost[]): CostTotal {
  const sum = (f: (r: RunCost) => number | null) => round(runs.reduce((s, r) => s + (f(r) ?? 0), 0))
  return {
    cost: sum((r) => r.totalCost),
    onDemandCost: sum((r) => r.onDemandCost),
    savings: sum((r) => r.savings),
    lostSeconds: sum((r) => r.lostSeconds),
    lostCost: sum((r) => r.lostCost),
    overheadSeconds: sum((r) => r.overheadSeconds),
    overheadCost: sum((r) => r.overheadCost),
  }
}
