/** Ranking of plans: expected cost with interruptions, filters, the no-fit error, warnings, staleness. */
import assert from 'node:assert/strict'
import {promises as fs} from 'node:fs'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {z} from 'zod'

import {ConfigError, UsageError} from '../../../src/errors'
import type {KindEntry} from '../../../src/jobs/registry'
import type {ResolvedJob} from '../../../src/jobs/resolve'
import {type Catalog, cachedCatalogPath, type InstanceType, loadCatalog, shippedCatalog} from '../../../src/scheduler/catalog'
import {workloadFromKind} from '../../../src/scheduler/input'
import {interruptionOverridePath, interruptionRate, type InterruptionData, loadInterruptions} from '../../../src/scheduler/interruptions'
import {launchPlanNote} from '../../../src/scheduler/launch-hook'
import {planWorkload} from '../../../src/scheduler/plan'
import {workloadSchema} from '../../../src/scheduler/workload'
import {tempHome} from '../../helpers/cli'

process.env.RFM_HOME = tempHome()

const qwen4b = (extra: object = {}) =>
  workloadSchema.parse({model: {name: 'Qwen3-VL-4B', params_b: 4.44, vision_params_b: 0.42}, samples: 43_000, method: 'lora', gradient_accumulation_steps: 4, ...extra})

function instance(type: string, gpuModel: string, price: number, gpus = 1): InstanceType {
  const base = shippedCatalog()
  return {type, family: type.split('.')[0], gpuModel, gpus, gpuMemoryGiB: base.gpuModels[gpuModel].memoryGiB, vcpus: 8, memoryGiB: 64, onDemand: {'us-east-1': price * 2}, spot: {'us-east-1': price}}
}

function world(instances: InstanceType[], rates: Record<string, number>, retrievedAt = new Date().toISOString()): {catalog: Catalog; interruptions: Promise<InterruptionData>} {
  const catalog: Catalog = {...shippedCatalog(), retrievedAt, regions: ['us-east-1'], instances}
  const interruptions = loadInterruptions().then((data) => ({
    ...data,
    types: Object.fromEntries(Object.entries(rates).map(([type, ratePerHour]) => [type, {'us-east-1': {ratePerHour}}])),
  }))
  return {catalog, interruptions}
}

describe('ranking', () => {
  it('ranks feasible plans by expected cost, infeasible ones after, and explains the choice', async () => {
    const {catalog, interruptions} = world([instance('calm.xlarge', 'A10G', 1), instance('busy.xlarge', 'A10G', 1), instance('slow.xlarge', 'T4', 0.3), instance('tiny.xlarge', 'T4', 0.1)], {
      'calm.xlarge': 0.01,
      'busy.xlarge': 0.8,
      'slow.xlarge': 0.01,
      'tiny.xlarge': 0.01,
    })
    // full fine-tuning of a 4B model: checkpoints too large for the spot notice, so interruptions lose work
    const w = qwen4b({method: 'frozen_vision'})
    const result = planWorkload(w, catalog, await interruptions, {markets: ['spot']})
    const feasible = result.plans.filter((p) => p.feasible)
    assert.deepEqual(
      feasible.map((p) => p.rank),
      feasible.map((_, i) => i + 1),
    )
    for (let i = 1; i < feasible.length; i++) assert.ok(feasible[i - 1].expectedCost <= feasible[i].expectedCost)
    assert.ok(result.plans.slice(feasible.length).every((p) => !p.feasible && p.rank === null))
    assert.equal(result.chosen, feasible[0])

    const calm = result.plans.find((p) => p.instanceType === 'calm.xlarge')!
    const busy = result.plans.find((p) => p.instanceType === 'busy.xlarge')!
    assert.equal(calm.computeHours, busy.computeHours)
    assert.equal(calm.pricePerHour, busy.pricePerHour)
    assert.equal(calm.checkpoint.graceful, false)
    assert.ok(busy.expectedCost > calm.expectedCost * 1.05, 'the frequently interrupted pool costs more')
    assert.ok(busy.interruption.expected > calm.interruption.expected)
    assert.ok(calm.rank! < busy.rank!)
  })

  it('beats the price-only pick when the cheapest per hour is slow, and says so', async () => {
    // a T4 trains at 0.12 of an A100, an A10G at 0.30: at 0.6 of the price the T4 costs more per sample
    const {catalog, interruptions} = world([instance('fast.xlarge', 'A10G', 1), instance('slow.xlarge', 'T4', 0.6)], {'fast.xlarge': 0.01, 'slow.xlarge': 0.01})
    const result = planWorkload(qwen4b(), catalog, await interruptions, {markets: ['spot']})
    assert.equal(result.priceOnly?.instanceType, 'slow.xlarge')
    assert.equal(result.chosen?.instanceType, 'fast.xlarge')
    assert.match(result.chosen!.why, /cheapest per hour, slow\.xlarge/)
    assert.ok(result.chosen!.expectedCost < result.priceOnly!.expectedCost)
  })

  it('applies --max-price, --deadline and --gpus', async () => {
    const {catalog, interruptions} = world([instance('one.xlarge', 'A10G', 1), instance('four.12xlarge', 'A10G', 3.5, 4), instance('slow.xlarge', 'T4', 0.3)], {})
    const data = await interruptions
    const cheap = planWorkload(qwen4b(), catalog, data, {markets: ['spot'], maxPrice: 2})
    assert.ok(cheap.plans.filter((p) => p.feasible).every((p) => p.pricePerHour <= 2))
    assert.match(cheap.plans.find((p) => p.instanceType === 'four.12xlarge')!.why, /max-price/)

    const all = planWorkload(qwen4b(), catalog, data, {markets: ['spot']})
    const slowest = Math.max(...all.plans.map((p) => p.expectedHours))
    const fastest = Math.min(...all.plans.map((p) => p.expectedHours))
    const rushed = planWorkload(qwen4b(), catalog, data, {markets: ['spot'], deadlineHours: (slowest + fastest) / 2})
    assert.ok(rushed.plans.some((p) => /deadline/.test(p.why)))
    assert.ok(rushed.plans.filter((p) => p.feasible).every((p) => p.expectedHours <= (slowest + fastest) / 2))

    const four = planWorkload(qwen4b(), catalog, data, {gpus: 4})
    assert.ok(four.plans.length > 0 && four.plans.every((p) => p.gpus === 4))
    assert.ok(
      four.plans.every((p) => p.batch.effective === 16),
      'effective batch kept at 4 × 4 × 1',
    )
  })

  it('on-demand plans have no interruptions and cost their price × hours', async () => {
    const {catalog, interruptions} = world([instance('one.xlarge', 'A10G', 1)], {'one.xlarge': 0.3})
    const result = planWorkload(qwen4b(), catalog, await interruptions, {markets: ['on-demand']})
    const p = result.chosen!
    assert.equal(p.interruption.ratePerHour, 0)
    assert.ok(p.expectedCost >= p.pricePerHour * p.computeHours)
  })

  it("charges the catalog's instance boot and image pull on every start, as the cost report does", async () => {
    const {catalog, interruptions} = world([instance('one.xlarge', 'A10G', 1)], {'one.xlarge': 0.3})
    const data = await interruptions
    const cost = (startupSeconds: number, market: 'spot' | 'on-demand') => planWorkload(qwen4b(), {...catalog, startupSeconds}, data, {markets: [market]}).chosen!
    // on demand there is one start: 10 minutes more of boot cost 10 minutes of the price
    const onDemand = cost(600, 'on-demand').expectedCost - cost(0, 'on-demand').expectedCost
    assert.ok(Math.abs(onDemand - (600 / 3600) * 2) < 0.011, `on demand: +$${onDemand} (costs are rounded to cents)`)
    // on spot every interruption is one more start
    const spot = cost(600, 'spot')
    const extra = spot.expectedCost - cost(0, 'spot').expectedCost
    assert.ok(extra > (600 / 3600) * 1 * (1 + spot.interruption.expected * 0.9), `spot: +$${extra} for ${spot.interruption.expected} interruptions`)
  })
})

describe('what does not fit', () => {
  it('names what would fit for a 7B full fine-tune on 24 GB GPUs', async () => {
    const w = workloadSchema.parse({kind: 'grpo', model: {name: 'Qwen2-VL-7B', params_b: 8.29, vision_params_b: 0.675}, method: 'full', seq_len: 320, samples: 1000})
    const data = await loadInterruptions()
    assert.throws(
      () => planWorkload(w, shippedCatalog(), data, {families: ['g5', 'g6']}),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError)
        assert.equal(error.code, 'PLAN_NO_FIT')
        assert.match(error.message, /does not fit/)
        for (const what of [/LoRA/, /4-bit/, /ZeRO-3/]) assert.match(error.message, what)
        assert.ok((error.details?.alternatives as string[]).length >= 3)
        assert.ok(error.hint)
        return true
      },
    )
    // with bigger GPUs allowed it plans
    assert.ok(planWorkload(w, shippedCatalog(), data, {families: ['p4de', 'p5']}).chosen)
  })
})

describe('warnings', () => {
  it('warns when the learning rate was not rescaled for the GPU count', async () => {
    const {catalog, interruptions} = world([instance('one.xlarge', 'A10G', 1), instance('four.12xlarge', 'A10G', 3.5, 4)], {})
    const result = planWorkload(qwen4b({learning_rate: 2e-5, lr_tuned_for_gpus: 1}), catalog, await interruptions)
    const four = result.plans.find((p) => p.gpus === 4)!
    const one = result.plans.find((p) => p.gpus === 1)!
    assert.ok(
      four.warnings.some((w) => /LR_multi = LR_single \/ num_gpus gives 5e-6 on 4 GPUs/.test(w)),
      four.warnings.join('\n'),
    )
    assert.ok(!one.warnings.some((w) => /learning_rate/.test(w)))
  })

  it('warns about stale prices, not about fresh ones', async () => {
    const data = await loadInterruptions()
    const now = new Date('2026-06-01T00:00:00Z')
    const old = world([instance('one.xlarge', 'A10G', 1)], {}, '2026-01-01T00:00:00Z').catalog
    assert.ok(planWorkload(qwen4b(), old, data, {}, now).warnings.some((w) => /catalog refresh/.test(w)))
    const fresh = world([instance('one.xlarge', 'A10G', 1)], {}, '2026-05-25T00:00:00Z').catalog
    assert.ok(!planWorkload(qwen4b(), fresh, data, {}, now).warnings.some((w) => /catalog refresh/.test(w)))
  })

  it('a refreshed catalog under RFM_HOME overrides the shipped one instance by instance', async () => {
    const file = cachedCatalogPath()
    await fs.mkdir(path.dirname(file), {recursive: true})
    const today = new Date().toISOString()
    const g5 = shippedCatalog().instances.find((i) => i.type === 'g5.xlarge')!
    await fs.writeFile(file, JSON.stringify({...shippedCatalog(), retrievedAt: today, source: 'aws', instances: [{...g5, spot: {'us-east-1': 0.123}, retrievedAt: today}]}))
    try {
      const catalog = await loadCatalog()
      const merged = catalog.instances.find((i) => i.type === 'g5.xlarge')!
      assert.equal(merged.spot?.['us-east-1'], 0.123)
      assert.equal(merged.retrievedAt, today)
      assert.equal(catalog.instances.find((i) => i.type === 'g6.xlarge')!.retrievedAt, shippedCatalog().retrievedAt)
      assert.equal(catalog.instances.length, shippedCatalog().instances.length)
    } finally {
      await fs.rm(file)
    }
  })
})

describe('launch hook', () => {
  const job = (estimate: ResolvedJob['kind']['estimate']): ResolvedJob => ({
    kind: {name: 'fake', summary: 'fake', schema: z.object({}), estimate},
    plugin: {name: 'test'},
    config: {},
    retries: {attempts: 1, evaluate_on_exit: []},
    source: {overrides: []},
  })

  it('says which plan it chose and why for kinds that estimate a GPU workload', async () => {
    const note = await launchPlanNote(job(() => ({gpus: 1, gpuMemoryGiB: 20, cpus: 4, memoryGiB: 32, workload: {model: {params_b: 4.44, vision_params_b: 0.42}, samples: 43_000}})))
    assert.ok(note?.chosen)
    assert.match(note.line, new RegExp(`^Plan: ${note.chosen.instanceType.replace('.', '\\.')} ${note.chosen.market}`))
    assert.match(note.line, /lowest expected cost/)
  })

  it('stays quiet for CPU jobs and reports a workload that fits nowhere without failing', async () => {
    assert.equal(await launchPlanNote(job(() => ({gpus: 0, gpuMemoryGiB: 0, cpus: 1, memoryGiB: 1}))), undefined)
    const huge = await launchPlanNote(job(() => ({gpus: 8, gpuMemoryGiB: 80, cpus: 8, memoryGiB: 64, workload: {model: {params_b: 400}, method: 'full', samples: 10}})))
    assert.equal(huge?.chosen, null)
    assert.match(huge!.line, /does not fit/)
  })
})

describe('plan inputs', () => {
  const entry = (estimate?: KindEntry['kind']['estimate']): KindEntry => ({kind: {name: 'fake', summary: 'fake', schema: z.object({}), estimate}, plugin: {name: 'test'}})

  it("takes the workload from a kind's estimate, so plugins plug in through estimate()", async () => {
    const input = await workloadFromKind(
      entry(() => ({gpus: 1, gpuMemoryGiB: 20, cpus: 4, memoryGiB: 32, workload: {model: {params_b: 4.44, vision_params_b: 0.42}, method: 'qlora4', samples: 1000}})),
    )
    assert.equal(input.workload?.method, 'qlora4')
    assert.equal(input.workload?.per_device_train_batch_size, 4, 'defaults filled in')
    assert.equal(input.source.kind, 'fake')
    const cpu = await workloadFromKind(entry(() => ({gpus: 0, gpuMemoryGiB: 0, cpus: 1, memoryGiB: 1})))
    assert.equal(cpu.workload, undefined)
  })

  it('refuses kinds that cannot be sized', async () => {
    await assert.rejects(workloadFromKind(entry()), UsageError)
    await assert.rejects(workloadFromKind(entry(() => ({gpus: 2, gpuMemoryGiB: 20, cpus: 4, memoryGiB: 32}))), /describes no workload/)
    await assert.rejects(workloadFromKind(entry(() => ({gpus: 1, gpuMemoryGiB: 20, cpus: 4, memoryGiB: 32, workload: {model: {params_b: -1}, samples: 1}}))), ConfigError)
  })

  it('an interruption override file under RFM_HOME replaces shipped buckets with measured rates', async () => {
    await fs.mkdir(path.dirname(interruptionOverridePath()), {recursive: true})
    await fs.writeFile(interruptionOverridePath(), JSON.stringify({exposureHours: 12, types: {'g5.xlarge': {'us-east-1': {ratePerHour: 0.42}}}}))
    try {
      const data = await loadInterruptions()
      assert.deepEqual(interruptionRate(data, 'g5.xlarge', 'g5', 'us-east-1'), {bucket: 'measured', ratePerHour: 0.42})
      const g6 = interruptionRate(data, 'g6.xlarge', 'g6', 'us-east-1')
      const shipped = interruptionRate({...data, exposureHours: 24}, 'g6.xlarge', 'g6', 'us-east-1')
      assert.ok(Math.abs(g6.ratePerHour / shipped.ratePerHour - 2) < 1e-9, 'half the exposure doubles the rate')
    } finally {
      await fs.rm(interruptionOverridePath())
    }
  })
})
