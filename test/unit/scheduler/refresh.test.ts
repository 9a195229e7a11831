/** `rfm catalog refresh` against stubbed AWS clients: request shapes, pagination, the merge into the cache. */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {DescribeInstanceTypesCommand, DescribeSpotPriceHistoryCommand, EC2Client, type InstanceTypeInfo} from '@aws-sdk/client-ec2'
import {GetProductsCommand, PricingClient} from '@aws-sdk/client-pricing'
import {mockClient} from 'aws-sdk-client-mock'

import {BackendError} from '../../../src/errors'
import {cachedCatalogPath, loadCatalog, shippedCatalog} from '../../../src/scheduler/catalog'
import {gpuModelName, onDemandUsd, refreshCatalog} from '../../../src/scheduler/refresh'
import {tempHome} from '../../helpers/cli'

const env = {...process.env}
const ec2 = mockClient(EC2Client)
const pricing = mockClient(PricingClient)

const shape = (type: string, gpus: number, gpuName = 'A10G', gpuMiB = 24_576): InstanceTypeInfo => ({
  InstanceType: type as InstanceTypeInfo['InstanceType'],
  VCpuInfo: {DefaultVCpus: 4 * gpus},
  MemoryInfo: {SizeInMiB: 16_384 * gpus},
  GpuInfo: {Gpus: [{Name: gpuName, Manufacturer: 'NVIDIA', Count: gpus, MemoryInfo: {SizeInMiB: gpuMiB}}], TotalGpuMemoryInMiB: gpuMiB * gpus},
})
const product = (usd: string) => JSON.stringify({product: {sku: 'X'}, terms: {OnDemand: {'X.JRTCKXETXF': {priceDimensions: {'X.JRTCKXETXF.6YS6EN2CT7': {unit: 'Hrs', pricePerUnit: {USD: usd}}}}}}})

before(() => {
  process.env.RFM_HOME = tempHome()
  process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE'
  process.env.AWS_SECRET_ACCESS_KEY = 'example-secret'
})
after(() => {
  process.env = env
  ec2.restore()
  pricing.restore()
})

describe('catalog refresh', () => {
  it('reads shapes, spot and on-demand prices with the documented requests and merges them into the cache', async () => {
    ec2.reset()
    pricing.reset()
    ec2
      .on(DescribeInstanceTypesCommand)
      .resolvesOnce({InstanceTypes: [shape('g5.xlarge', 1), shape('g5.12xlarge', 4)], NextToken: 'page-2'})
      .resolvesOnce({InstanceTypes: [shape('g5.future', 1, 'B999', 200_000)]})
    ec2.on(DescribeSpotPriceHistoryCommand).resolves({
      SpotPriceHistory: [
        {AvailabilityZone: 'us-east-1a', InstanceType: 'g5.xlarge', ProductDescription: 'Linux/UNIX', SpotPrice: '0.300000'},
        {AvailabilityZone: 'us-east-1b', InstanceType: 'g5.xlarge', ProductDescription: 'Linux/UNIX', SpotPrice: '0.400000'},
        {AvailabilityZone: 'us-east-1c', InstanceType: 'g5.xlarge', ProductDescription: 'Linux/UNIX', SpotPrice: '0.350000'},
        {AvailabilityZone: 'us-east-1a', InstanceType: 'g5.12xlarge', ProductDescription: 'Linux/UNIX', SpotPrice: '2.100000'},
      ],
    })
    pricing.on(GetProductsCommand).callsFake((input: {Filters: Array<{Field: string; Value: string}>}) => {
      const type = input.Filters.find((f) => f.Field === 'instanceType')!.Value
      return {PriceList: [product(type === 'g5.xlarge' ? '0.9990000000' : '5.5000000000')]}
    })

    const now = new Date('2026-11-20T12:00:00Z')
    const result = await refreshCatalog({regions: ['us-east-1'], families: ['g5'], now})
    assert.equal(result.file, cachedCatalogPath())
    assert.deepEqual([result.instanceTypes, result.spotPrices, result.onDemandPrices], [2, 2, 2])
    assert.deepEqual(result.skipped, ['g5.future (B999)'])

    const typeCalls = ec2.commandCalls(DescribeInstanceTypesCommand).map((c) => c.args[0].input)
    assert.deepEqual(typeCalls[0].Filters, [{Name: 'instance-type', Values: ['g5.*']}])
    assert.equal(typeCalls[1].NextToken, 'page-2')
    const spotInput = ec2.commandCalls(DescribeSpotPriceHistoryCommand)[0].args[0].input
    assert.deepEqual([...(spotInput.InstanceTypes ?? [])].sort(), ['g5.12xlarge', 'g5.xlarge'])
    assert.deepEqual(spotInput.ProductDescriptions, ['Linux/UNIX'])
    assert.equal(spotInput.StartTime?.toISOString(), now.toISOString())
    const priceInputs = pricing.commandCalls(GetProductsCommand).map((c) => c.args[0].input)
    assert.equal(priceInputs.length, 2)
    for (const input of priceInputs) {
      assert.equal(input.ServiceCode, 'AmazonEC2')
      const filters = Object.fromEntries((input.Filters ?? []).map((f) => [f.Field, f.Value]))
      assert.ok(input.Filters?.every((f) => f.Type === 'TERM_MATCH'))
      assert.deepEqual(
        {...filters, instanceType: undefined},
        {instanceType: undefined, regionCode: 'us-east-1', operatingSystem: 'Linux', tenancy: 'Shared', preInstalledSw: 'NA', capacitystatus: 'Used'},
      )
    }

    const catalog = await loadCatalog()
    const g5 = catalog.instances.find((i) => i.type === 'g5.xlarge')!
    assert.equal(g5.spot?.['us-east-1'], 0.35, 'median over zones')
    assert.equal(g5.onDemand['us-east-1'], 0.999)
    assert.equal(g5.onDemand['us-west-2'], shippedCatalog().instances.find((i) => i.type === 'g5.xlarge')!.onDemand['us-west-2'], 'other regions keep the shipped price')
    assert.equal(catalog.instances.find((i) => i.type === 'g5.12xlarge')!.gpus, 4)
    assert.equal(catalog.instances.find((i) => i.type === 'g6.xlarge')!.retrievedAt, shippedCatalog().retrievedAt)
    assert.equal(catalog.source, 'aws')
  })

  it('turns refused credentials into a typed error with a hint', async () => {
    ec2.reset()
    ec2.on(DescribeInstanceTypesCommand).rejects(Object.assign(new Error('You are not authorized to perform this operation.'), {name: 'UnauthorizedOperation'}))
    await assert.rejects(refreshCatalog({regions: ['us-east-1'], families: ['g5']}), (error: unknown) => {
      assert.ok(error instanceof BackendError)
      assert.equal(error.code, 'AWS_CREDENTIALS')
      assert.match(error.hint ?? '', /credentials/)
      return true
    })
  })

  it('parses Pricing API entries and EC2 GPU names', () => {
    assert.equal(onDemandUsd(product('1.2340000000')), 1.234)
    assert.equal(onDemandUsd(JSON.stringify({terms: {}})), undefined)
    assert.equal(gpuModelName('A100', 81_920), 'A100-80GB')
    assert.equal(gpuModelName('A100', 40_960), 'A100')
    assert.equal(gpuModelName('V100', 32_768), 'V100-32GB')
  })
})
