/**
 * `rfm catalog refresh`: reads current figures from AWS and writes them under RFM_HOME, where
 * they override the shipped snapshot instance by instance.
 *   shapes     EC2 DescribeInstanceTypes (GPU model, count, memory, vCPU, RAM), per region
 *   spot       EC2 DescribeSpotPriceHistory (Linux/UNIX, latest per zone; median over zones)
 *   on demand  Pricing GetProducts (Linux, shared tenancy, no pre-installed software), from us-east-1
 * The AWS clients are imported here, lazily, so they cost nothing at CLI start-up.
 */
import {promises as fs} from 'node:fs'
import * as path from 'node:path'

import type {DescribeSpotPriceHistoryCommandOutput} from '@aws-sdk/client-ec2'

import {BackendError} from '../errors'
import {type Catalog, cachedCatalogPath, type InstanceType, shippedCatalog} from './catalog'

export interface RefreshOptions {
  regions?: string[]
  families?: string[]
  now?: Date
}

export interface RefreshResult {
  file: string
  retrievedAt: string
  regions: string[]
  instanceTypes: number
  spotPrices: number
  onDemandPrices: number
  /** types whose GPU rfm has no throughput figure for; left out of the catalog */
  skipped: string[]
}

const PRICING_REGION = 'us-east-1'

function credentialsError(error: unknown): BackendError | undefined {
  const e = error as {name?: string; Code?: string; message?: string}
  const name = e?.name ?? e?.Code ?? ''
  if (/CredentialsProviderError|ExpiredToken|UnrecognizedClient|AuthFailure|InvalidClientTokenId|UnauthorizedOperation|AccessDenied/.test(name)) {
    return new BackendError(`AWS refused the catalog refresh: ${e.message ?? name}.`, {
      code: 'AWS_CREDENTIALS',
      hint:
        'Configure AWS credentials (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) allowed ec2:DescribeInstanceTypes, ' +
        'ec2:DescribeSpotPriceHistory and pricing:GetProducts. Until then rfm plans with the shipped catalog and says how old it is.',
      cause: error,
    })
  }
  return undefined
}

/** Map EC2's GPU names to the catalog's models; the same name comes in two memory sizes for some. */
export function gpuModelName(name: string, memoryMiB: number): string {
  if (name === 'A100' && memoryMiB >= 70_000) return 'A100-80GB'
  if (name === 'V100' && memoryMiB >= 30_000) return 'V100-32GB'
  return name
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({length: Math.min(limit, items.length)}, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i])
      }
    }),
  )
  return out
}

/** The on-demand USD price in one GetProducts PriceList entry. */
export function onDemandUsd(priceListItem: unknown): number | undefined {
  const product = typeof priceListItem === 'string' ? JSON.parse(priceListItem) : JSON.parse(String(priceListItem))
  for (const term of Object.values(product?.terms?.OnDemand ?? {}) as Array<{priceDimensions?: Record<string, {pricePerUnit?: {USD?: string}}>}>) {
    for (const dimension of Object.values(term.priceDimensions ?? {})) {
      const usd = Number(dimension.pricePerUnit?.USD)
      if (usd > 0) return usd
    }
  }
  return undefined
}

export async function refreshCatalog(options: RefreshOptions = {}): Promise<RefreshResult> {
  const base = shippedCatalog()
  const regions = options.regions ?? base.regions
  const families = options.families ?? [...new Set(base.instances.map((i) => i.family))]
  const now = options.now ?? new Date()
  const retrievedAt = now.toISOString()
  // The SDK warns on every run under Node 20 (support ends 2027); rfm declares Node ≥ 20 on purpose.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const {EC2Client, DescribeInstanceTypesCommand, DescribeSpotPriceHistoryCommand} = await import('@aws-sdk/client-ec2')
  const {PricingClient, GetProductsCommand} = await import('@aws-sdk/client-pricing')

  const pricing = new PricingClient({region: PRICING_REGION})
  try {
    await pricing.config.credentials()
  } catch (error) {
    throw credentialsError(error) ?? error
  }

  const shapes = new Map<string, Omit<InstanceType, 'onDemand'>>()
  const offered = new Map<string, Set<string>>()
  const spot = new Map<string, Record<string, number>>()
  const skipped = new Set<string>()
  let spotPrices = 0
  try {
    for (const region of regions) {
      const ec2 = new EC2Client({region})
      const inRegion = new Set<string>()
      let token: string | undefined
      do {
        const page = await ec2.send(
          new DescribeInstanceTypesCommand({
            Filters: [{Name: 'instance-type', Values: families.map((f) => `${f}.*`)}],
            MaxResults: 100,
            NextToken: token,
          }),
        )
        for (const t of page.InstanceTypes ?? []) {
          const gpu = t.GpuInfo?.Gpus?.[0]
          if (!t.InstanceType || !gpu?.Name) continue
          const model = gpuModelName(gpu.Name, gpu.MemoryInfo?.SizeInMiB ?? 0)
          if (!base.gpuModels[model]) {
            skipped.add(`${t.InstanceType} (${gpu.Name})`)
            continue
          }
          inRegion.add(t.InstanceType)
          shapes.set(t.InstanceType, {
            type: t.InstanceType,
            family: t.InstanceType.split('.')[0],
            gpuModel: model,
            gpus: t.GpuInfo?.Gpus?.reduce((n, g) => n + (g.Count ?? 0), 0) ?? 1,
            gpuMemoryGiB: Math.round(((gpu.MemoryInfo?.SizeInMiB ?? 0) / 1024) * 100) / 100,
            vcpus: t.VCpuInfo?.DefaultVCpus ?? 0,
            memoryGiB: Math.round((t.MemoryInfo?.SizeInMiB ?? 0) / 1024),
          })
        }
        token = page.NextToken
      } while (token)
      offered.set(region, inRegion)
      if (inRegion.size === 0) continue

      const byType = new Map<string, number[]>()
      token = undefined
      do {
        const page: DescribeSpotPriceHistoryCommandOutput = await ec2.send(
          new DescribeSpotPriceHistoryCommand({
            InstanceTypes: [...inRegion] as never,
            ProductDescriptions: ['Linux/UNIX'],
            StartTime: now,
            MaxResults: 1000,
            NextToken: token,
          }),
        )
        for (const p of page.SpotPriceHistory ?? []) {
          if (!p.InstanceType || !p.SpotPrice) continue
          byType.set(p.InstanceType, [...(byType.get(p.InstanceType) ?? []), Number(p.SpotPrice)])
        }
        token = page.NextToken || undefined
      } while (token)
      for (const [type, prices] of byType) {
        spot.set(type, {...spot.get(type), [region]: median(prices)})
        spotPrices++
      }
    }

    const jobs = [...offered].flatMap(([region, types]) => [...types].map((type) => ({region, type})))
    const onDemand = new Map<string, Record<string, number>>()
    let onDemandPrices = 0
    await mapLimit(jobs, 8, async ({region, type}) => {
      const term = (Field: string, Value: string) => ({Type: 'TERM_MATCH' as const, Field, Value})
      const page = await pricing.send(
        new GetProductsCommand({
          ServiceCode: 'AmazonEC2',
          FormatVersion: 'aws_v1',
          MaxResults: 10,
          Filters: [term('instanceType', type), term('regionCode', region), term('operatingSystem', 'Linux'), term('tenancy', 'Shared'), term('preInstalledSw', 'NA'), term('capacitystatus', 'Used')],
        }),
      )
      const prices = ((page.PriceList ?? []) as unknown[]).map(onDemandUsd).filter((p): p is number => p !== undefined)
      if (prices.length) {
        onDemand.set(type, {...onDemand.get(type), [region]: Math.min(...prices)})
        onDemandPrices++
      }
    })

    const instances: InstanceType[] = [...shapes.values()].map((shape) => ({
      ...shape,
      onDemand: onDemand.get(shape.type) ?? {},
      ...(spot.has(shape.type) ? {spot: spot.get(shape.type)} : {}),
      retrievedAt,
    }))
    const refreshed: Catalog = {...base, retrievedAt, source: 'aws', regions, instances}
    // Keep what an earlier refresh found for other regions or families.
    let previous: Catalog | undefined
    try {
      previous = JSON.parse(await fs.readFile(cachedCatalogPath(), 'utf8')) as Catalog
    } catch {}
    const merged = previous ? mergeRefresh(previous, refreshed) : refreshed
    const file = cachedCatalogPath()
    await fs.mkdir(path.dirname(file), {recursive: true})
    await fs.writeFile(`${file}.tmp`, JSON.stringify({$comment: 'Written by rfm catalog refresh; overrides the shipped catalog.', ...merged}, null, 1) + '\n')
    await fs.rename(`${file}.tmp`, file)
    return {file, retrievedAt, regions, instanceTypes: instances.length, spotPrices, onDemandPrices, skipped: [...skipped]}
  } catch (error) {
    throw (
      credentialsError(error) ??
      new BackendError(`The catalog refresh failed: ${(error as Error).message}`, {
        code: 'AWS_API',
        hint: 'Check the regions (--regions) and your network; the shipped catalog stays in use.',
        cause: error,
      })
    )
  }
}

function mergeRefresh(previous: Catalog, next: Catalog): Catalog {
  const byType = new Map(previous.instances.map((i) => [i.type, i]))
  for (const i of next.instances) {
    const old = byType.get(i.type)
    // Prices kept from regions this refresh did not read keep their older date, conservatively.
    const keepsOlder = old && Object.keys(old.onDemand).some((r) => !next.regions.includes(r))
    byType.set(i.type, {
      ...i,
      onDemand: {...old?.onDemand, ...i.onDemand},
      spot: {...old?.spot, ...i.spot},
      retrievedAt: keepsOlder ? (old.retrievedAt ?? previous.retrievedAt) : i.retrievedAt,
    })
  }
  return {...next, regions: [...new Set([...previous.regions, ...next.regions])], instances: [...byType.values()]}
}
