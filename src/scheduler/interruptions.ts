/**
 * Spot interruption rates. The shipped snapshot gives the AWS Spot Advisor's interruption
 * frequency bucket (<5%, 5–10%, 10–15%, 15–20%, >20% of capacity reclaimed per month) per family
 * and region, with per-type exceptions. The Advisor publishes no hourly rate, so rfm reads the
 * bucket midpoint p as the chance of being interrupted within `exposureHours` of running and
 * turns it into a Poisson rate λ = −ln(1 − p) / exposureHours (per hour). The default exposure of
 * 24 h is an assumption, not a measurement: override it, or give `ratePerHour` per type and region,
 * in RFM_HOME/scheduler/interruptions.json.
 */
import {promises as fs} from 'node:fs'
import * as path from 'node:path'

import {rfmHome} from '../config/home'
import {ConfigError} from '../errors'
import shipped from './data/interruptions.json'

export interface Bucket {
  label: string
  min: number
  max: number | null
  /** percent */
  midpoint: number
}

/** A bucket label ("10-15%") or an explicit rate. */
export type RateEntry = string | {ratePerHour: number}

export interface InterruptionData {
  retrievedAt: string
  exposureHours: number
  defaultBucket: string
  buckets: Bucket[]
  families: Record<string, Record<string, RateEntry>>
  types: Record<string, Record<string, RateEntry>>
}

export interface InterruptionRate {
  /** the bucket label, or "measured" for an explicit rate */
  bucket: string
  ratePerHour: number
}

export function interruptionOverridePath(): string {
  return path.join(rfmHome(), 'scheduler', 'interruptions.json')
}

export async function loadInterruptions(): Promise<InterruptionData> {
  const base = structuredClone(shipped) as InterruptionData
  let text: string
  try {
    text = await fs.readFile(interruptionOverridePath(), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return base
    throw error
  }
  let over: Partial<InterruptionData>
  try {
    over = JSON.parse(text) as Partial<InterruptionData>
  } catch {
    throw new ConfigError(`${interruptionOverridePath()} is not valid JSON.`, {code: 'CONFIG_SYNTAX', hint: 'Fix it, or delete it to use the shipped interruption data.'})
  }
  const merged = {...base, ...over, families: {...base.families}, types: {...base.types}}
  for (const [k, v] of Object.entries(over.families ?? {})) merged.families[k] = {...base.families[k], ...v}
  for (const [k, v] of Object.entries(over.types ?? {})) merged.types[k] = {...base.types[k], ...v}
  return merged
}

export function bucketRate(data: InterruptionData, label: string): number {
  const bucket = data.buckets.find((b) => b.label === label)
  if (!bucket) throw new ConfigError(`Unknown interruption bucket "${label}".`, {hint: `Buckets: ${data.buckets.map((b) => b.label).join(', ')}.`})
  return -Math.log(1 - bucket.midpoint / 100) / data.exposureHours
}

export function interruptionRate(data: InterruptionData, type: string, family: string, region: string): InterruptionRate {
  const entry = data.types[type]?.[region] ?? data.families[family]?.[region] ?? data.defaultBucket
  if (typeof entry === 'object') return {bucket: 'measured', ratePerHour: entry.ratePerHour}
  return {bucket: entry, ratePerHour: bucketRate(data, entry)}
}
