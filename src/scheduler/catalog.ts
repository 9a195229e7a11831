/**
 * The instance catalog: GPU instance shapes and prices per region. rfm ships a dated snapshot
 * (data/aws-catalog.json); `rfm catalog refresh` writes a fresher copy under RFM_HOME that
 * overrides it instance by instance. Every instance carries the date its prices were read, so
 * plans can warn when they rest on stale prices.
 */
import {promises as fs} from 'node:fs'
import * as path from 'node:path'

import {rfmHome} from '../config/home'
import {ConfigError} from '../errors'
import shipped from './data/aws-catalog.json'

export interface GpuModel {
  memoryGiB: number
  /** Training throughput relative to an A100-40GB (bf16, the reference of the runtime model). */
  relativeThroughput: number
  bf16: boolean
}

export interface InstanceType {
  type: string
  family: string
  gpuModel: string
  gpus: number
  /** memory of one GPU */
  gpuMemoryGiB: number
  vcpus: number
  memoryGiB: number
  /** Linux on-demand $/h by region; a region is missing where the type is not offered. */
  onDemand: Record<string, number>
  /** Current spot $/h by region (median over availability zones), when refreshed. */
  spot?: Record<string, number>
  /** ISO date the prices were read; the catalog's date when absent. */
  retrievedAt?: string
}

export interface Catalog {
  retrievedAt: string
  source: string
  currency: string
  regions: string[]
  gpuModels: Record<string, GpuModel>
  /** Typical spot discount off on-demand, by family, used where no spot price was refreshed. */
  spotDiscount: Record<string, number>
  /**
   * Rough seconds a fresh instance is billed before a job's container runs (boot, ECS agent, image
   * pull): what the cost report charges, labelled "estimated", when rfm observed neither.
   */
  startupSeconds?: number
  instances: InstanceType[]
}

export const DEFAULT_MAX_AGE_DAYS = 30

export function shippedCatalog(): Catalog {
  return structuredClone(shipped) as Catalog
}

export function cachedCatalogPath(): string {
  return path.join(rfmHome(), 'scheduler', 'catalog.json')
}

/** The shipped snapshot with a refreshed copy (if any) laid over it, instance by instance. */
export async function loadCatalog(): Promise<Catalog> {
  const base = shippedCatalog()
  const file = cachedCatalogPath()
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return base
    throw error
  }
  let cached: Catalog
  try {
    cached = JSON.parse(text) as Catalog
    if (!Array.isArray(cached.instances)) throw new Error('no instances')
  } catch {
    throw new ConfigError(`The cached catalog ${file} is not a valid catalog.`, {
      code: 'CATALOG_INVALID',
      hint: 'Delete it to fall back to the shipped catalog, or run rfm catalog refresh again.',
    })
  }
  return mergeCatalogs(base, cached)
}

/** Instances of `over` replace those of `base` with the same type; their date travels with them. */
export function mergeCatalogs(base: Catalog, over: Catalog): Catalog {
  const byType = new Map(base.instances.map((i) => [i.type, {...i, retrievedAt: i.retrievedAt ?? base.retrievedAt}]))
  for (const instance of over.instances) {
    const old = byType.get(instance.type)
    byType.set(instance.type, {
      ...old,
      ...instance,
      onDemand: {...old?.onDemand, ...instance.onDemand},
      ...(old?.spot || instance.spot ? {spot: {...old?.spot, ...instance.spot}} : {}),
      retrievedAt: instance.retrievedAt ?? over.retrievedAt,
    })
  }
  return {
    ...base,
    retrievedAt: over.retrievedAt,
    source: over.source,
    regions: [...new Set([...base.regions, ...(over.regions ?? [])])],
    gpuModels: {...base.gpuModels, ...over.gpuModels},
    spotDiscount: {...base.spotDiscount, ...over.spotDiscount},
    ...(over.startupSeconds !== undefined ? {startupSeconds: over.startupSeconds} : {}),
    instances: [...byType.values()],
  }
}

export function ageDays(isoDate: string, now = new Date()): number {
  return Math.max(0, (now.getTime() - Date.parse(isoDate)) / 86_400_000)
}

/** Days after which prices count as stale: RFM_CATALOG_MAX_AGE_DAYS, else 30. */
export function maxAgeDays(): number {
  const fromEnv = Number(process.env.RFM_CATALOG_MAX_AGE_DAYS)
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_MAX_AGE_DAYS
}

export function priceDate(catalog: Catalog, instance: InstanceType): string {
  return instance.retrievedAt ?? catalog.retrievedAt
}

/** $/h of an instance in a region and market; undefined where it is not offered. */
export function hourlyPrice(catalog: Catalog, instance: InstanceType, region: string, market: 'spot' | 'on-demand'): number | undefined {
  const onDemand = instance.onDemand[region]
  if (market === 'on-demand') return onDemand
  const spot = instance.spot?.[region]
  if (spot !== undefined) return spot
  if (onDemand === undefined) return undefined
  return onDemand * (1 - (catalog.spotDiscount[instance.family] ?? 0.5))
}
