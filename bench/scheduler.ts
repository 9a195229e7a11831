/**
 * `npm run bench -- scheduler [runs]`: checks the expected-cost model against a Monte Carlo
 * simulation of the process it models (bench/_spot-sim.ts, seeded), and measures what pricing in
 * interruptions buys when choosing an instance.
 *
 * 1. Model ÷ simulation: predicted expected cost ÷ simulated mean cost over a grid of interruption
 *    rates, checkpoint intervals, checkpoint costs, notice fractions and job lengths (goal 0.9–1.1).
 * 2. Choice: over generated scenarios where spot prices and interruption rates differ across
 *    types and regions, the simulated cost of rfm's pick ÷ that of the price-only pick (cheapest
 *    $/h that fits, what launchers that price × 1 hour do; goal ≤ 0.9), and ÷ an
 *    interruption-blind pick (price × compute hours) to isolate what the interruption term adds.
 */
import {shippedCatalog} from '../src/scheduler/catalog'
import {type CostInputs, expectedCost} from '../src/scheduler/expected-cost'
import {loadInterruptions, type InterruptionData} from '../src/scheduler/interruptions'
import {type Plan, planWorkload} from '../src/scheduler/plan'
import {dataParallelSpeedup} from '../src/scheduler/runtime'
import {type Workload, workloadSchema} from '../src/scheduler/workload'
import {ratioLine} from './_stats'
import {rng, type SimJob, simulateMean} from './_spot-sim'

const geomean = (xs: number[]) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length)
const PRICE_VOLATILITY = 0.25

function simJob(m: CostInputs, intervalHours = m.intervalHours): SimJob {
  return {...m, intervalHours, meanPrice: m.pricePerHour, priceVolatility: PRICE_VOLATILITY}
}

function modelVersusSimulation(runs: number): number[] {
  console.log('1. Expected-cost model ÷ Monte Carlo mean (per scenario)')
  const ratios: number[] = []
  let seed = 1
  for (const W of [3, 20]) {
    for (const λ of [0.02, 0.15, 0.5, 1.5]) {
      for (const [C, g] of [
        [16 / 3600, 0.9],
        [180 / 3600, 0],
      ] as const) {
        for (const τ of [0.25, 1]) {
          const inputs: CostInputs = {computeHours: W, pricePerHour: 1.5, ratePerHour: λ, checkpointHours: C, restartHours: 0.06, provisionHours: 0.07, noticeFraction: g, intervalHours: τ}
          const model = expectedCost(inputs)
          const sim = simulateMean(simJob(inputs), runs, seed++)
          const ratio = model.cost / sim.cost
          ratios.push(ratio)
          console.log(
            `   W=${String(W).padStart(2)}h λ=${λ.toFixed(2)}/h C=${Math.round(C * 3600)}s g=${g} τ=${τ}h  model $${model.cost.toFixed(2)} sim $${sim.cost.toFixed(2)}±${sim.costStdErr.toFixed(2)}  ${ratio.toFixed(3)}`,
          )
        }
      }
    }
  }
  return ratios
}

const WORKLOADS: Workload[] = [
  workloadSchema.parse({name: '4B LoRA SFT', model: {params_b: 4.44, vision_params_b: 0.42}, method: 'lora', samples: 43_000, gradient_accumulation_steps: 4, unsloth: true}),
  workloadSchema.parse({name: '4B full SFT', model: {params_b: 4.44, vision_params_b: 0.42}, method: 'full', samples: 43_000, gradient_accumulation_steps: 4}),
  workloadSchema.parse({
    name: '7B GRPO LoRA',
    kind: 'grpo',
    model: {params_b: 8.29, vision_params_b: 0.675},
    method: 'lora',
    seq_len: 320,
    samples: 1500,
    per_device_train_batch_size: 4,
    gradient_accumulation_steps: 4,
  }),
]

/**
 * A scenario: every type × region gets its own interruption rate and spot price. With
 * `equalWorkPrice` every spot price is the same per unit of training work (price ∝ throughput),
 * so only the interruption term can tell the instances apart.
 */
function scenario(seed: number, base: InterruptionData, equalWorkPrice = false) {
  const random = rng(seed)
  const catalog = shippedCatalog()
  const interruptions: InterruptionData = {...base, types: {}}
  for (const instance of catalog.instances) {
    instance.spot = {}
    interruptions.types[instance.type] = {}
    for (const [region, od] of Object.entries(instance.onDemand)) {
      // log-uniform 0.003–0.5 interruptions per hour: from calm pools to contended GPU pools
      interruptions.types[instance.type][region] = {ratePerHour: 0.003 * (0.5 / 0.003) ** random()}
      const noise = 0.75 + 0.5 * random()
      instance.spot[region] = equalWorkPrice
        ? 1.2 * catalog.gpuModels[instance.gpuModel].relativeThroughput * dataParallelSpeedup(instance.gpus)
        : od * (1 - (catalog.spotDiscount[instance.family] ?? 0.5)) * noise
    }
  }
  return {catalog, interruptions}
}

async function choices(runs: number, scenarios: number, equalWorkPrice: boolean): Promise<{vsPrice: number[]; vsBlind: number[]; saveSteps: number[]}> {
  console.log(
    equalWorkPrice
      ? '\n3. The same, with every spot price equal per unit of work: only interruption rates differ'
      : "\n2. Simulated cost of rfm's pick ÷ other picks (spot market, generated prices and interruption rates)",
  )
  const base = await loadInterruptions()
  const vsPrice: number[] = []
  const vsBlind: number[] = []
  const saveSteps: number[] = []
  let seed = 1000
  for (const w of WORKLOADS) {
    const perWorkload: Array<[number, number]> = []
    for (let s = 0; s < scenarios; s++) {
      const {catalog, interruptions} = scenario(seed++, base, equalWorkPrice)
      const result = planWorkload({...w, save_steps: 500}, catalog, interruptions, {markets: ['spot']})
      const feasible = result.plans.filter((p) => p.feasible)
      const chosen = result.chosen!
      const priceOnly = result.priceOnly!
      const blind = feasible.reduce((a: Plan, b: Plan) => (b.pricePerHour * b.computeHours < a.pricePerHour * a.computeHours ? b : a))
      const simulate = (p: Plan, interval = p.model.intervalHours) => simulateMean(simJob(p.model, interval), runs, seed * 7).cost
      const rfm = simulate(chosen)
      const a = rfm / simulate(priceOnly)
      const b = rfm / simulate(blind)
      // rfm's save_steps against the workload's own 500 steps, on the same instance
      const stepHours = chosen.model.intervalHours / chosen.saveSteps.recommended
      saveSteps.push(rfm / simulate(chosen, 500 * stepHours))
      vsPrice.push(a)
      vsBlind.push(b)
      perWorkload.push([a, b])
    }
    console.log(
      `   ${w.name!.padEnd(14)} ÷ price-only ${geomean(perWorkload.map((x) => x[0])).toFixed(3)}   ÷ interruption-blind ${geomean(perWorkload.map((x) => x[1])).toFixed(3)}  (${scenarios} scenarios)`,
    )
  }
  return {vsPrice, vsBlind, saveSteps}
}

/** With the shipped catalog and Spot Advisor buckets (24 h exposure): what the interruption term changes today. */
async function shippedData(runs: number): Promise<number[]> {
  console.log('\n4. Shipped catalog and interruption buckets: rfm pick ÷ interruption-blind pick')
  const data = await loadInterruptions()
  const ratios: number[] = []
  for (const w of WORKLOADS) {
    const result = planWorkload(w, shippedCatalog(), data, {markets: ['spot']})
    const feasible = result.plans.filter((p) => p.feasible)
    const blind = feasible.reduce((a: Plan, b: Plan) => (b.pricePerHour * b.computeHours < a.pricePerHour * a.computeHours ? b : a))
    const simulate = (p: Plan) => simulateMean(simJob(p.model), runs, 99).cost
    const ratio = simulate(result.chosen!) / simulate(blind)
    ratios.push(ratio)
    console.log(`   ${w.name!.padEnd(14)} rfm ${result.chosen!.instanceType} ${result.chosen!.region}, blind ${blind.instanceType} ${blind.region}: ${ratio.toFixed(3)}`)
  }
  return ratios
}

export default async function (args: string[]): Promise<void> {
  const runs = Number(args[0]) || 10_000
  const ratios = modelVersusSimulation(runs)
  const {vsPrice, vsBlind, saveSteps} = await choices(Math.max(300, Math.round(runs / 4)), 12, false)
  const equal = await choices(Math.max(300, Math.round(runs / 4)), 12, true)
  const shipped = await shippedData(Math.max(300, Math.round(runs / 4)))
  console.log('\nSummary')
  console.log(ratioLine('model ÷ simulated mean cost, worst low', Math.min(...ratios), '≥ 0.9'))
  console.log(ratioLine('model ÷ simulated mean cost, worst high', Math.max(...ratios), '≤ 1.1'))
  console.log(ratioLine('model ÷ simulated mean cost, geometric mean', geomean(ratios), '0.9–1.1'))
  console.log(ratioLine('rfm pick ÷ price-only pick (geometric mean)', geomean(vsPrice), '≤ 0.9'))
  console.log(ratioLine('rfm pick ÷ price-only pick (worst scenario)', Math.max(...vsPrice)))
  console.log(ratioLine('rfm pick ÷ interruption-blind pick (geometric mean)', geomean(vsBlind), '< 1'))
  console.log(ratioLine('rfm pick ÷ interruption-blind pick (worst scenario)', Math.max(...vsBlind)))
  console.log(ratioLine('rfm save_steps ÷ save_steps 500, same instance', geomean(saveSteps), '≤ 1'))
  console.log(ratioLine('equal $/work: rfm pick ÷ price-only pick (geo mean)', geomean(equal.vsPrice)))
  console.log(ratioLine('equal $/work: rfm pick ÷ price-only (worst scenario)', Math.max(...equal.vsPrice)))
  console.log(ratioLine('shipped data: rfm pick ÷ interruption-blind pick', geomean(shipped)))
}
