/**
 * A direct Monte Carlo simulation of a checkpointed job on spot capacity, written independently
 * of the closed form in src/scheduler/expected-cost.ts so that comparing the two is a real check.
 * It walks the wall clock: a Poisson interruption trace, an hourly spot-price trace (mean-reverting
 * in log space around the mean price), compute up to each checkpoint position, checkpoint writes
 * that count only once finished, notices turned into checkpoints, waits for a replacement
 * instance (not billed) and restarts (billed, interruptible).
 */
import {seededRandom} from '../src/backends/local/chaos'

/** Seeded PRNG (mulberry32, shared with the local backend's chaos mode): reproducible traces. */
export const rng = seededRandom

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
}

export interface SimJob {
  computeHours: number
  intervalHours: number
  checkpointHours: number
  restartHours: number
  provisionHours: number
  noticeFraction: number
  ratePerHour: number
  meanPrice: number
  /** standard deviation of log price (stationary) */
  priceVolatility: number
}

export interface SimRun {
  cost: number
  billedHours: number
  wallHours: number
  interruptions: number
}

/** Hourly spot prices: log-price AR(1) with stationary mean such that E[price] = meanPrice. */
class PriceTrace {
  private prices: number[] = []
  private cumulative: number[] = [0]
  private x: number
  constructor(
    private readonly job: SimJob,
    private readonly random: () => number,
  ) {
    this.x = normal(random) * job.priceVolatility
  }
  private extend(hours: number): void {
    const σ = this.job.priceVolatility
    const φ = 0.9 // hour-to-hour persistence
    while (this.prices.length <= hours) {
      this.x = φ * this.x + Math.sqrt(1 - φ * φ) * σ * normal(this.random)
      const price = this.job.meanPrice * Math.exp(this.x - (σ * σ) / 2)
      this.prices.push(price)
      this.cumulative.push(this.cumulative[this.cumulative.length - 1] + price)
    }
  }
  /** ∫ price dt from 0 to t */
  integral(t: number): number {
    const h = Math.floor(t)
    this.extend(h + 1)
    return this.cumulative[h] + this.prices[h] * (t - h)
  }
}

export function simulateOnce(job: SimJob, random: () => number): SimRun {
  const prices = new PriceTrace(job, random)
  let nextArrival = job.ratePerHour > 0 ? -Math.log(1 - random()) / job.ratePerHour : Infinity
  /** the first interruption of the capacity trace after time t (earlier ones hit no instance of ours) */
  const arrivalAfter = (t: number) => {
    while (nextArrival <= t) nextArrival += -Math.log(1 - random()) / job.ratePerHour
    return nextArrival
  }
  const W = job.computeHours
  const τ = job.intervalHours
  let t = job.provisionHours
  let billed = 0
  let cost = 0
  let interruptions = 0
  let committed = 0
  const bill = (from: number, to: number) => {
    billed += to - from
    cost += prices.integral(to) - prices.integral(from)
  }
  for (;;) {
    // Restart: container, model, restore. Interrupted restarts start over after a new wait.
    const ready = t + job.restartHours
    const hit = arrivalAfter(t)
    if (hit < ready) {
      bill(t, hit)
      interruptions++
      t = hit + job.provisionHours
      continue
    }
    bill(t, ready)
    t = ready
    let pos = committed
    let lost = false
    while (!lost) {
      const target = Math.min(W, (Math.floor(pos / τ + 1e-9) + 1) * τ)
      const computeEnd = t + (target - pos)
      const writeEnd = computeEnd + job.checkpointHours
      const a = arrivalAfter(t)
      if (a < writeEnd) {
        const at = Math.min(a, computeEnd)
        const position = pos + (at - t)
        bill(t, a)
        t = a
        interruptions++
        if (random() < job.noticeFraction) {
          // the runtime writes a checkpoint within the notice
          bill(t, t + job.checkpointHours)
          t += job.checkpointHours
          committed = position
        }
        t += job.provisionHours
        lost = true
      } else {
        bill(t, writeEnd)
        t = writeEnd
        pos = target
        committed = target
        if (pos >= W - 1e-12) return {cost, billedHours: billed, wallHours: t, interruptions}
      }
    }
  }
}

export function simulateMean(job: SimJob, runs: number, seed: number): SimRun & {costStdErr: number} {
  const random = rng(seed)
  const sum = {cost: 0, billedHours: 0, wallHours: 0, interruptions: 0}
  let squares = 0
  for (let i = 0; i < runs; i++) {
    const r = simulateOnce(job, random)
    sum.cost += r.cost
    sum.billedHours += r.billedHours
    sum.wallHours += r.wallHours
    sum.interruptions += r.interruptions
    squares += r.cost * r.cost
  }
  const mean = sum.cost / runs
  return {
    cost: mean,
    billedHours: sum.billedHours / runs,
    wallHours: sum.wallHours / runs,
    interruptions: sum.interruptions / runs,
    costStdErr: Math.sqrt(Math.max(0, squares / runs - mean * mean) / runs),
  }
}
