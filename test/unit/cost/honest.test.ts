/**
 * Honest cost (issue #21 item 4): an attempt on a multi-GPU instance is charged its GPUs' share;
 * the planner credits a spot notice with a checkpoint only for trainers that save on SIGTERM
 * (built-in trainers; an external command only with checkpoints.save_on_sigterm: true).
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {runCost, type PriceSource} from '../../../src/cost/report'
import type {RunRecord} from '../../../src/runs/record'
import {loadInterruptions} from '../../../src/scheduler/interruptions'
import {planWorkload} from '../../../src/scheduler/plan'
import {shippedCatalog} from '../../../src/scheduler/catalog'
import {workloadSchema} from '../../../src/scheduler/workload'
import {tempHome} from '../../helpers/cli'

process.env.RFM_HOME = tempHome()

const prices: PriceSource = {
  spotHistory: async () => [{time: 0, price: 8}],
  onDemandPrice: async () => 16,
  instanceGpus: async (type) => ({'g5.12xlarge': 4, 'g5.xlarge': 1})[type],
}

function batchRun(gpus: number, instanceType: string): RunRecord {
  return {
    id: 'sft-20990101-000000-0000beef',
    kind: 'sft',
    state: 'succeeded',
    createdAt: '2099-01-01T00:00:00Z',
    backend: {name: 'aws-batch', request: {queue: 'spot', resources: {gpus, cpus: 4, memoryGiB: 16}}},
    attempts: [{index: 1, startedAt: '2099-01-01T00:00:00Z', endedAt: '2099-01-01T01:00:00Z', action: 'exit', instanceType, availabilityZone: 'us-east-1a', lifecycle: 'spot'}],
  } as unknown as RunRecord
}

test('a 1-GPU job packed on a 4-GPU instance is charged a quarter of it; a whole-instance job all of it', async () => {
  const shared = await runCost(batchRun(1, 'g5.12xlarge'), [], prices)
  assert.equal(shared.attempts[0].share, 0.25)
  assert.equal(shared.attempts[0].cost, 2)
  assert.equal(shared.attempts[0].onDemandCost, 4)
  const whole = await runCost(batchRun(4, 'g5.12xlarge'), [], prices)
  assert.equal(whole.attempts[0].share, undefined)
  assert.equal(whole.attempts[0].cost, 8)
})

test('the planner credits a spot notice with a checkpoint only for a trainer that saves on SIGTERM', async () => {
  const catalog = shippedCatalog()
  const interruptions = await loadInterruptions()
  const base = {model: {name: 'small', params_b: 1, vision_params_b: 0.1}, samples: 20_000, method: 'lora'}
  const plan = (saves: boolean) => planWorkload(workloadSchema.parse({...base, save_on_sigterm: saves}), catalog, interruptions, {markets: ['spot'], regions: ['us-east-1']}).chosen!
  const saver = plan(true)
  const other = plan(false)
  assert.equal(saver.model.noticeFraction, 0.9)
  assert.equal(other.model.noticeFraction, 0)
  assert.ok(other.expectedCost >= saver.expectedCost, `no credit costs more: ${other.expectedCost} vs ${saver.expectedCost}`)
})
