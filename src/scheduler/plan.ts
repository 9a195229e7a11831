/**
 * `rfm cloud plan`: every instance type × region × market that the filters allow, with whether
 * the workload fits, its expected hours and expected cost under interruptions, ranked by expected
 * cost among the feasible ones, each with one line of why.
 */
import {ConfigError} from '../errors'
import {ageDays, type Catalog, hourlyPrice, type InstanceType, maxAgeDays, priceDate} from './catalog'
import {type CostInputs, expectedCost, optimalInterval, youngDalyHours} from './expected-cost'
import {interruptionRate, type InterruptionData} from './interruptions'
import {checkpointGiB, estimateMemory, fitBatch, hostMemoryGiB, type MemoryBreakdown} from './memory'
import {computeHours} from './runtime'
import {effectiveBatch, type Method, totalSteps, type Workload} from './workload'

export type Market = 'spot' | 'on-demand'

export const JOB_OVERHEADS = {
  /** checkpoint upload / restore download between one instance and S3 */
  storeGiBPerSecond: 0.4,
  checkpointFixedSeconds: 15,
  /**
   * container start, CUDA init, data loader warm-up, on every start; the instance's own boot and
   * image pull come on top (the catalog's startupSeconds, billed, as the cost report charges them)
   */
  restartFixedSeconds: 180,
  /** waiting for a replacement spot instance (not billed) */
  provisionSeconds: 240,
  /** AWS's spot interruption notice, and the margin the runtime keeps for exiting */
  noticeSeconds: 120,
  noticeMarginSeconds: 20,
  /**
   * share of notices that reach a trainer that saves on SIGTERM in time (the rest act as hard
   * interruptions). A trainer that does not save on SIGTERM (save_on_sigterm false: an external
   * trainer such as HF transformers' Trainer, which installs no handler) gets no credit at all.
   */
  noticeHonoured: 0.9,
}

export interface PlanOptions {
  regions?: string[]
  families?: string[]
  gpus?: number
  maxPrice?: number
  deadlineHours?: number
  markets?: Market[]
}

export interface Plan {
  rank: number | null
  instanceType: string
  region: string
  market: Market
  gpuModel: string
  gpus: number
  gpuMemoryGiB: number
  fits: boolean
  memoryNeededGiB: number
  batch: {perDevice: number; gradientAccumulation: number; effective: number; reduced: boolean}
  pricePerHour: number
  computeHours: number
  expectedHours: number
  expectedCost: number
  interruption: {bucket: string; ratePerHour: number; expected: number}
  checkpoint: {gib: number; seconds: number; graceful: boolean}
  saveSteps: {recommended: number; intervalMinutes: number; youngDalyMinutes: number | null; current?: number; currentCost?: number}
  feasible: boolean
  why: string
  warnings: string[]
  priceDate: string
  /** the expected-cost model's inputs for this plan (hours), at the recommended interval */
  model: CostInputs
}

export interface PlanResult {
  workload: Workload
  memory: MemoryBreakdown
  catalog: {retrievedAt: string; source: string; ageDays: number; stale: boolean; maxAgeDays: number}
  plans: Plan[]
  chosen: Plan | null
  /** the cheapest $/h plan that fits: what a price-only launcher would pick */
  priceOnly: Plan | null
  warnings: string[]
}

interface Candidate {
  instance: InstanceType
  region: string
  market: Market
  price: number
}

function candidates(catalog: Catalog, options: PlanOptions): Candidate[] {
  const markets = options.markets ?? ['spot', 'on-demand']
  const regions = options.regions ?? catalog.regions
  const out: Candidate[] = []
  for (const instance of catalog.instances) {
    if (options.families && !options.families.includes(instance.family)) continue
    if (options.gpus !== undefined && instance.gpus !== options.gpus) continue
    for (const region of regions) {
      for (const market of markets) {
        const price = hourlyPrice(catalog, instance, region, market)
        if (price !== undefined) out.push({instance, region, market, price})
      }
    }
  }
  return out
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits

function evaluate(w: Workload, catalog: Catalog, interruptions: InterruptionData, c: Candidate, options: PlanOptions): Plan {
  const o = JOB_OVERHEADS
  const {instance, region, market, price} = c
  const gpu = catalog.gpuModels[instance.gpuModel]
  const n = instance.gpus
  const fit = fitBatch(w, instance.gpuMemoryGiB, n)
  const fitted: Workload = fit ? {...w, per_device_train_batch_size: fit.per_device_train_batch_size, gradient_accumulation_steps: fit.gradient_accumulation_steps} : w
  const memoryNeeded = fit?.memoryGiB ?? estimateMemory(w, n, 1).totalGiB
  const hostOk = instance.memoryGiB >= hostMemoryGiB(w)
  const W = computeHours(fitted, gpu, n)
  const ckptGiB = checkpointGiB(w)
  const ckptSeconds = o.checkpointFixedSeconds + ckptGiB / o.storeGiBPerSecond
  const graceful = ckptSeconds <= o.noticeSeconds - o.noticeMarginSeconds
  const rate = market === 'spot' ? interruptionRate(interruptions, instance.type, instance.family, region) : {bucket: 'none', ratePerHour: 0}
  const base: Omit<CostInputs, 'intervalHours'> = {
    computeHours: W,
    pricePerHour: price,
    ratePerHour: rate.ratePerHour,
    checkpointHours: ckptSeconds / 3600,
    restartHours: ((catalog.startupSeconds ?? 0) + o.restartFixedSeconds + (ckptGiB + (w.model.params_b * 2e9) / 2 ** 30) / o.storeGiBPerSecond) / 3600,
    provisionHours: o.provisionSeconds / 3600,
    noticeFraction: graceful && w.save_on_sigterm ? o.noticeHonoured : 0,
  }
  const steps = totalSteps(fitted, n)
  const stepHours = W / steps
  const τ = optimalInterval(base, stepHours)
  const recommended = Math.max(1, Math.round(τ / stepHours))
  const best = expectedCost({...base, intervalHours: recommended * stepHours})
  const yd = youngDalyHours(base.ratePerHour, base.noticeFraction, base.checkpointHours)
  const current = w.save_steps ? expectedCost({...base, intervalHours: w.save_steps * stepHours}) : undefined

  const warnings: string[] = []
  if (fit?.reduced)
    warnings.push(
      `per-device batch ${w.per_device_train_batch_size} does not fit ${instance.gpuMemoryGiB} GiB; use ${fit.per_device_train_batch_size} with gradient_accumulation_steps ${fit.gradient_accumulation_steps}`,
    )
  if (w.learning_rate !== undefined && n !== w.lr_tuned_for_gpus) {
    const scaled = (w.learning_rate * w.lr_tuned_for_gpus) / n
    const lr = (x: number) => (x < 1e-3 ? x.toExponential().replace(/\.?0+e/, 'e') : String(x))
    warnings.push(
      `learning_rate ${lr(w.learning_rate)} was tuned for ${w.lr_tuned_for_gpus} GPU${w.lr_tuned_for_gpus > 1 ? 's' : ''}; the pipelines' rule LR_multi = LR_single / num_gpus gives ${lr(Number(scaled.toPrecision(3)))} on ${n} GPUs`,
    )
  }
  if (!gpu.bf16) warnings.push(`${instance.gpuModel} has no bf16: training falls back to fp16 mixed precision`)

  let why = ''
  if (!fit) why = `does not fit: needs ${round(memoryNeeded, 1)} GiB per GPU at batch 1, ${instance.gpuModel} has ${instance.gpuMemoryGiB}`
  else if (!hostOk) why = `does not fit: needs ${round(hostMemoryGiB(w))} GiB of host memory, has ${instance.memoryGiB}`
  else if (options.maxPrice !== undefined && price > options.maxPrice) why = `over --max-price: $${round(price, 3)}/h`
  else if (options.deadlineHours !== undefined && best.wallHours > options.deadlineHours) why = `misses the deadline: ${round(best.wallHours, 1)} h expected`
  return {
    rank: null,
    instanceType: instance.type,
    region,
    market,
    gpuModel: instance.gpuModel,
    gpus: n,
    gpuMemoryGiB: instance.gpuMemoryGiB,
    fits: Boolean(fit) && hostOk,
    memoryNeededGiB: round(memoryNeeded, 1),
    batch: {
      perDevice: fitted.per_device_train_batch_size,
      gradientAccumulation: fitted.gradient_accumulation_steps,
      effective: effectiveBatch(fitted, n),
      reduced: fit?.reduced ?? false,
    },
    pricePerHour: round(price, 4),
    computeHours: round(W, 3),
    expectedHours: round(best.wallHours, 3),
    expectedCost: round(best.cost, 2),
    interruption: {bucket: rate.bucket, ratePerHour: round(rate.ratePerHour, 5), expected: round(best.expectedInterruptions, 2)},
    checkpoint: {gib: round(ckptGiB, 1), seconds: Math.round(ckptSeconds), graceful},
    saveSteps: {
      recommended,
      intervalMinutes: round(recommended * stepHours * 60, 1),
      youngDalyMinutes: Number.isFinite(yd) ? round(yd * 60, 1) : null,
      ...(current ? {current: w.save_steps, currentCost: round(current.cost, 2)} : {}),
    },
    feasible: why === '',
    why,
    warnings,
    priceDate: priceDate(catalog, instance),
    model: {...base, intervalHours: recommended * stepHours},
  }
}

const label = (p: Plan) => `${p.instanceType} ${p.market} in ${p.region}`

export function planWorkload(w: Workload, catalog: Catalog, interruptions: InterruptionData, options: PlanOptions = {}, now = new Date()): PlanResult {
  const all = candidates(catalog, options)
  if (all.length === 0) {
    throw new ConfigError('No instance type matches the filters (--regions, --families, --gpus).', {
      code: 'PLAN_NO_CANDIDATES',
      hint: `Regions in the catalog: ${catalog.regions.join(', ')}; families: ${[...new Set(catalog.instances.map((i) => i.family))].join(', ')}.`,
    })
  }
  const plans = all.map((c) => evaluate(w, catalog, interruptions, c, options))
  if (!plans.some((p) => p.fits)) throw noFitError(w, catalog, all)

  const feasible = plans.filter((p) => p.feasible).sort((a, b) => a.expectedCost - b.expectedCost || a.expectedHours - b.expectedHours)
  feasible.forEach((p, i) => (p.rank = i + 1))
  const chosen = feasible[0] ?? null
  const fitting = plans.filter((p) => p.fits && p.feasible)
  const priceOnly = fitting.length ? fitting.reduce((a, b) => (b.pricePerHour < a.pricePerHour ? b : a)) : null
  for (const p of feasible) {
    if (p === chosen) {
      const others = feasible.length - 1
      p.why = `lowest expected cost of ${feasible.length} feasible plan${others ? 's' : ''}`
      if (priceOnly && priceOnly !== p) {
        p.why +=
          `; the cheapest per hour, ${label(priceOnly)} at $${priceOnly.pricePerHour}/h, would cost $${priceOnly.expectedCost} over ${round(priceOnly.expectedHours, 1)} h` +
          (priceOnly.interruption.ratePerHour > p.interruption.ratePerHour ? ` with interruptions ${priceOnly.interruption.bucket}` : '')
      } else if (priceOnly === p) p.why += '; also the cheapest per hour'
    } else if (chosen) {
      const more = Math.round((p.expectedCost / chosen.expectedCost - 1) * 100)
      const reasons: string[] = []
      if (p.expectedHours > chosen.expectedHours * 1.2) reasons.push(`${round(p.expectedHours / chosen.expectedHours, 1)}× the hours`)
      if (p.pricePerHour > chosen.pricePerHour * 1.2) reasons.push(`${round(p.pricePerHour / chosen.pricePerHour, 1)}× the price per hour`)
      if (p.interruption.expected > chosen.interruption.expected + 0.5) reasons.push(`${p.interruption.expected} interruptions expected (${p.interruption.bucket})`)
      p.why = `+${more}% expected cost${reasons.length ? `: ${reasons.join(', ')}` : ''}`
    }
  }
  const infeasible = plans.filter((p) => !p.feasible).sort((a, b) => Number(b.fits) - Number(a.fits) || a.expectedCost - b.expectedCost)

  const warnings: string[] = []
  const age = ageDays(catalog.retrievedAt, now)
  const limit = maxAgeDays()
  const date = chosen?.priceDate ?? catalog.retrievedAt
  const chosenAge = ageDays(date, now)
  if (chosenAge > limit) warnings.push(`prices are from ${date.slice(0, 10)} (${Math.floor(chosenAge)} days old, over ${limit}): run rfm catalog refresh for current spot prices`)
  if (!chosen) {
    warnings.push(`no plan meets every constraint: ${[...new Set(plans.filter((p) => p.fits).map((p) => p.why.split(':')[0]))].join(', ')}`)
  }
  return {
    workload: w,
    // sharded state depends on the GPU count: the chosen plan's, else the workload's tuned count
    memory: estimateMemory(w, chosen?.gpus ?? w.lr_tuned_for_gpus),
    catalog: {retrievedAt: catalog.retrievedAt, source: catalog.source, ageDays: Math.floor(age), stale: age > limit, maxAgeDays: limit},
    plans: [...feasible, ...infeasible],
    chosen,
    priceOnly,
    warnings,
  }
}

const METHOD_NAMES: Record<Method, string> = {
  full: 'full fine-tune',
  frozen_vision: 'frozen vision tower',
  lora: 'LoRA',
  qlora4: '4-bit QLoRA',
}

/** What would fit when nothing does: lighter methods, then sharding across more GPUs. */
export function fitAlternatives(w: Workload, catalog: Catalog, all: Candidate[]): string[] {
  const order: Method[] = ['full', 'frozen_vision', 'lora', 'qlora4']
  const lighter = order.slice(order.indexOf(w.method) + 1)
  const out: string[] = []
  const instances = [...new Map(all.map((c) => [c.instance.type, c.instance])).values()].sort((a, b) => a.gpus - b.gpus || a.gpuMemoryGiB - b.gpuMemoryGiB)
  const firstFit = (variant: Workload) => {
    for (const i of instances) {
      const fit = fitBatch(variant, i.gpuMemoryGiB, i.gpus)
      if (fit && i.memoryGiB >= hostMemoryGiB(variant)) return {instance: i, fit}
    }
    return undefined
  }
  for (const method of lighter) {
    const found = firstFit({...w, method})
    if (found)
      out.push(
        `${METHOD_NAMES[method]}${method === 'lora' || method === 'qlora4' ? ` r=${w.lora_rank}` : ''} (${round(found.fit.memoryGiB, 1)} GiB per GPU at batch ${found.fit.per_device_train_batch_size}, ${found.instance.type})`,
      )
  }
  if (w.sharding !== 'zero3') {
    const found = firstFit({...w, sharding: 'zero3'})
    if (found) out.push(`${METHOD_NAMES[w.method]} sharded with ZeRO-3/FSDP on ${found.instance.gpus} GPUs (${round(found.fit.memoryGiB, 1)} GiB per GPU, ${found.instance.type})`)
  }
  return out
}

function noFitError(w: Workload, catalog: Catalog, all: Candidate[]): ConfigError {
  const largest = Math.max(...all.map((c) => c.instance.gpuMemoryGiB))
  // with ZeRO sharding the need shrinks with the GPU count: say it for the most GPUs allowed
  const gpus = w.sharding === 'none' ? 1 : Math.max(...all.map((c) => c.instance.gpus))
  const need = estimateMemory(w, gpus, 1).totalGiB
  const alternatives = fitAlternatives(w, catalog, all)
  const model = w.model.name ?? `${w.model.params_b}B model`
  return new ConfigError(
    `${model} with ${METHOD_NAMES[w.method]} does not fit any allowed instance: it needs ${round(need, 1)} GiB per GPU at batch 1${gpus > 1 ? ` with ${w.sharding === 'zero3' ? 'ZeRO-3' : 'ZeRO-2'} on ${gpus} GPUs` : ''}, the largest allowed GPU has ${largest} GiB.` +
      (alternatives.length ? ` Would fit: ${alternatives.join('; ')}.` : ' Nothing lighter fits either.'),
    {
      code: 'PLAN_NO_FIT',
      hint: alternatives.length
        ? 'Change method (lora, qlora4, frozen_vision) or sharding (zero3) in the workload, or allow bigger GPUs (--families, --gpus).'
        : 'Allow bigger GPUs (--families p4de,p5) or a smaller model.',
      details: {neededGiB: round(need, 1), largestGpuGiB: largest, alternatives},
    },
  )
}
