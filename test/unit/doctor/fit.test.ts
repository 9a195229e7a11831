/**
 * The queue-fit rule on the compute environments rfm's own Pulumi program creates (under mocks):
 * maxvCpus first (Batch's COMPUTE_ENVIRONMENT_MAX_RESOURCE), then the instance shapes
 * (JOB_RESOURCE_REQUIREMENT); a type the catalog does not know is taken to fit.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import type {ComputeEnvironmentDetail} from '@aws-sdk/client-batch'

import {jobNeeds, queueCannotPlace} from '../../../src/doctor/fit'
import {shippedCatalog} from '../../../src/scheduler/catalog'
import {mockedStack} from '../../helpers/batch-emulator/program'

const instances = shippedCatalog().instances

async function spotEnvironments(maxVcpus: Partial<Record<'g5', number>>): Promise<ComputeEnvironmentDetail[]> {
  const stack = await mockedStack({region: 'us-east-1', gpuFamilies: ['g5'], maxVcpus})
  return stack.computeEnvironments
    .filter((ce) => ce.type === 'SPOT')
    .map((ce) => ({
      computeEnvironmentName: ce.name,
      computeEnvironmentArn: ce.arn,
      ecsClusterArn: '',
      computeResources: {type: 'SPOT', instanceTypes: ce.instanceTypes, maxvCpus: ce.maxvCpus, subnets: ce.subnets},
    }))
}

test('maxvCpus below the job: refused with the flag that raises it', async () => {
  const environments = await spotEnvironments({g5: 16})
  const blocked = queueCannotPlace({vcpus: 32, gpus: 1}, environments, instances)
  assert.match(blocked!.message, /asks for 32 vCPUs.*at most 16 \(maxvCpus\)/)
  assert.match(blocked!.fix, /--max-vcpus/)
  assert.equal(queueCannotPlace({vcpus: 16, gpus: 1}, environments, instances), undefined)
})

test('no instance of the families holds the GPUs or memory: refused, naming a family that would', async () => {
  const environments = await spotEnvironments({g5: 256})
  assert.equal(queueCannotPlace({vcpus: 8, gpus: 4, memoryMiB: 190 * 1024}, environments, instances), undefined, 'g5.12xlarge: 4 GPUs, 192 GiB')
  const memory = queueCannotPlace({vcpus: 8, gpus: 1, memoryMiB: 1000 * 1024}, environments, instances)
  assert.match(memory!.message, /largest, g5\.48xlarge, has 192 vCPUs, 8 GPUs, 768 GiB/)
  assert.match(memory!.fix, /--gpu-families g5,(g6e|p4de|p5)/)
})

test('a type or family missing from the catalog, or none listed, is taken to fit', () => {
  const unknown: ComputeEnvironmentDetail = {
    computeEnvironmentName: 'x',
    computeEnvironmentArn: 'x',
    ecsClusterArn: '',
    computeResources: {type: 'SPOT', instanceTypes: ['g99'], maxvCpus: 1024, subnets: []},
  }
  assert.equal(queueCannotPlace({vcpus: 8, gpus: 64}, [unknown], instances), undefined)
  assert.equal(queueCannotPlace({vcpus: 8, gpus: 64}, [], instances), undefined)
})

test("the job's needs: overrides over the job definition's resourceRequirements", () => {
  const definition = {
    jobDefinitionName: 'd',
    jobDefinitionArn: 'd',
    revision: 1,
    type: 'container',
    containerProperties: {
      resourceRequirements: [
        {type: 'VCPU' as const, value: '8'},
        {type: 'MEMORY' as const, value: '14000'},
        {type: 'GPU' as const, value: '1'},
      ],
    },
  }
  assert.deepEqual(jobNeeds(definition), {vcpus: 8, gpus: 1, memoryMiB: 14000})
  assert.deepEqual(jobNeeds(definition, {gpus: 4, memoryGiB: 1.5}), {vcpus: 8, gpus: 4, memoryMiB: 1536})
  assert.deepEqual(jobNeeds(undefined, {cpus: 2.5}), {vcpus: 3, gpus: 0})
})
