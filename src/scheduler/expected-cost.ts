/**
 * Expected cost of a job on one instance, with spot interruptions.
 *
 * The process: the job needs W hours of compute. Every τ hours of compute it writes a checkpoint,
 * which takes C hours and counts only once written. Interruptions arrive as a Poisson process of
 * rate λ per hour while an instance runs (λ = 0 on demand). A fraction g of them come with a
 * notice the runtime can use (AWS gives 2 minutes): it writes a checkpoint (C) and loses nothing;
 * the others lose the work since the last checkpoint. After each interruption rfm waits D hours
 * for a new instance (not billed) and spends R hours restarting (container, model, restore),
 * billed and itself exposed to interruptions. Every start, the first included, costs a restart.
 *
 * Closed form. Split the run into segments of s = τ + C running time (the last one shorter). With
 * hard (no-notice) interruptions at h = λ(1 − g) a segment is retried until it runs s hours
 * without one; its expected running time is (e^{hs} − 1)/h and it suffers e^{hs} − 1 hard
 * interruptions (the exact renewal result). Noticed interruptions occur at σ = λg during that
 * running time, each adding C. A restart that must run R hours under rate λ takes
 * ρ = (e^{λR} − 1)/λ billed hours in expectation. So
 *   billed = Σ_segments (e^{hs} − 1)/h  +  (1 + N_hard + N_notice)·ρ  +  N_notice·C
 *   cost   = mean price × billed.
 * Approximation: a noticed interruption's checkpoint also shortens the next hard loss; the model
 * ignores that (slightly pessimistic for large g). The Monte Carlo in bench/scheduler.ts simulates
 * the process directly and checks this formula.
 *
 * Young/Daly: for small λ the τ that minimises this is close to sqrt(2C/h); rfm minimises the
 * closed form itself numerically and reports both.
 */

export interface CostInputs {
  /** W: compute hours without interruptions or checkpoints */
  computeHours: number
  pricePerHour: number
  /** λ: interruptions per running hour (0 on demand) */
  ratePerHour: number
  /** C: hours to write one checkpoint */
  checkpointHours: number
  /** R: billed hours to (re)start: container, model load, restore */
  restartHours: number
  /** D: unbilled hours waiting for a replacement instance */
  provisionHours: number
  /** g: share of interruptions whose notice is turned into a checkpoint */
  noticeFraction: number
  /** τ: compute hours between checkpoints */
  intervalHours: number
}

export interface CostEstimate {
  billedHours: number
  wallHours: number
  expectedInterruptions: number
  checkpoints: number
  cost: number
  /** billed hours by cause */
  hours: {compute: number; checkpoints: number; lostWork: number; restarts: number}
}

/** (e^{xs} − 1)/x, → s as x → 0 */
function expm1Over(x: number, s: number): number {
  return x * s < 1e-12 ? s : Math.expm1(x * s) / x
}

export function expectedCost(input: CostInputs): CostEstimate {
  const {computeHours: W, ratePerHour: λ, checkpointHours: C, restartHours: R, noticeFraction: g} = input
  const τ = Math.max(1e-9, Math.min(input.intervalHours, W))
  const hard = λ * (1 - g)
  const notice = λ * g
  const fullSegments = Math.floor(W / τ + 1e-9)
  const remainder = Math.max(0, W - fullSegments * τ)
  const segments =
    remainder > 1e-9
      ? [
          [fullSegments, τ + C],
          [1, remainder + C],
        ]
      : [[fullSegments, τ + C]]
  let running = 0
  let hardCount = 0
  for (const [count, s] of segments) {
    running += count * expm1Over(hard, s)
    hardCount += count * Math.expm1(hard * s)
  }
  const noticeCount = notice * running
  const restart = expm1Over(λ, R)
  const starts = 1 + hardCount + noticeCount
  const restartInterruptions = starts * Math.expm1(λ * R)
  const checkpoints = fullSegments + (remainder > 1e-9 ? 1 : 0)
  const billedHours = running + starts * restart + noticeCount * C
  const expectedInterruptions = hardCount + noticeCount + restartInterruptions
  return {
    billedHours,
    wallHours: billedHours + (1 + expectedInterruptions) * input.provisionHours,
    expectedInterruptions,
    checkpoints,
    cost: billedHours * input.pricePerHour,
    hours: {
      compute: W,
      checkpoints: checkpoints * C + noticeCount * C,
      lostWork: running - W - checkpoints * C,
      restarts: starts * restart,
    },
  }
}

/** Young/Daly's first-order optimum interval, hours (Infinity without hard interruptions). */
export function youngDalyHours(ratePerHour: number, noticeFraction: number, checkpointHours: number): number {
  const hard = ratePerHour * (1 - noticeFraction)
  return hard > 0 ? Math.sqrt((2 * checkpointHours) / hard) : Infinity
}

/**
 * The checkpoint interval (hours of compute) minimising expected cost, between one step and
 * `maxHours` (checkpoints also guard against failures that are not spot interruptions, so rfm
 * never recommends fewer than one an hour by default). Golden-section search on log τ.
 */
export function optimalInterval(input: Omit<CostInputs, 'intervalHours'>, minHours: number, maxHours = 1): number {
  const hi = Math.log(Math.max(minHours, Math.min(maxHours, input.computeHours)))
  const lo = Math.log(Math.min(minHours, Math.exp(hi)))
  const f = (x: number) => expectedCost({...input, intervalHours: Math.exp(x)}).billedHours
  const φ = (Math.sqrt(5) - 1) / 2
  let [a, b] = [lo, hi]
  let c = b - φ * (b - a)
  let d = a + φ * (b - a)
  for (let i = 0; i < 60 && b - a > 1e-4; i++) {
    if (f(c) <= f(d)) {
      b = d
      d = c
      c = b - φ * (b - a)
    } else {
      a = c
      c = d
      d = a + φ * (b - a)
    }
  }
  const best = (a + b) / 2
  // The cost is convex in τ near its minimum but flat far from it: also consider the ends.
  return Math.exp([best, lo, hi].reduce((x, y) => (f(y) < f(x) ? y : x)))
}
