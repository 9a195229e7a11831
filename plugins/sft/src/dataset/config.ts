/**
 * The `data.*` keys of dataset generation, their defaults, and `--set data.key=value` overrides
 * (the seed's `--config_overrides`). Values are YAML, so `data.train_datasets=[a,b]` and
 * `data.sample_type_ratio=[0.7,0.3,0.0]` read as lists.
 */
import {configError} from './errors'

/** Sample types, in the order of `data.sample_type_ratio`. */
export const SAMPLE_TYPES = ['preference', 'progress', 'similarity'] as const
export type SampleType = (typeof SAMPLE_TYPES)[number]

export interface DataConfig {
  /** sources: a folder of .npz files, one .npz file, or `synthetic:<name>[:<count>]` */
  train_datasets: string[]
  /** weights of preference, progress, similarity; normalised; 0 disables a type */
  sample_type_ratio: [number, number, number]
  /** frames kept per trajectory in a sample (evenly subsampled, first and last always kept) */
  max_frames: number
  /** frames are resized to image_size × image_size */
  image_size: number
  /** trajectories of a `synthetic:<name>` source without an explicit count */
  synthetic_count: number
  /** smallest progress difference between the two trajectories of a preference sample */
  min_progress_gap: number
  /** a .npz without a progress array: 'error', or 'linear' (0 → 1 over its frames, as for demonstrations) */
  missing_progress: 'error' | 'linear'
}

export const DATA_DEFAULTS: DataConfig = {
  train_datasets: ['synthetic:train'],
  sample_type_ratio: [0.5, 0.5, 0],
  max_frames: 8,
  image_size: 32,
  synthetic_count: 256,
  min_progress_gap: 0.15,
  missing_progress: 'error',
}

const KEYS = Object.keys(DATA_DEFAULTS) as (keyof DataConfig)[]

/** Parses `data.key=value` strings (YAML values) into a partial data config; errors name the key. */
export async function parseOverrides(items: string[]): Promise<Record<string, unknown>> {
  const {parse} = await import('yaml')
  const out: Record<string, unknown> = {}
  for (const item of items) {
    const eq = item.indexOf('=')
    if (eq <= 0) throw configError(`--set ${item}: expected data.<key>=<value>.`, `Keys: ${KEYS.map((k) => `data.${k}`).join(', ')}.`)
    const key = item.slice(0, eq).trim()
    const raw = item.slice(eq + 1)
    if (!key.startsWith('data.')) throw configError(`--set ${key}: only data.* keys are read by dataset generation.`, `Keys: ${KEYS.map((k) => `data.${k}`).join(', ')}.`)
    let value: unknown
    try {
      value = parse(raw)
    } catch {
      value = raw
    }
    out[key.slice(5)] = value ?? raw
  }
  return out
}

/** Validates a partial data config over the defaults; errors name `data.<key>`. */
export function resolveDataConfig(input: Record<string, unknown> = {}): DataConfig {
  const config: DataConfig = {...DATA_DEFAULTS, sample_type_ratio: [...DATA_DEFAULTS.sample_type_ratio]}
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue
    const name = `data.${key}`
    switch (key) {
      case 'train_datasets': {
        const list = typeof value === 'string' ? [value] : value
        if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && s.length > 0)) {
          throw configError(`${name} must be a non-empty list of sources.`, 'A source is a folder of .npz files, one .npz file, or synthetic:<name>[:<count>].')
        }
        config.train_datasets = list as string[]
        break
      }
      case 'sample_type_ratio': {
        if (!Array.isArray(value) || value.length !== 3 || !value.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
          throw configError(`${name} must be three non-negative numbers (preference, progress, similarity), e.g. [0.7,0.3,0.0].`)
        }
        if (value.reduce((a: number, b: number) => a + b, 0) <= 0) throw configError(`${name} must enable at least one sample type (all three are 0).`)
        config.sample_type_ratio = value as [number, number, number]
        break
      }
      case 'max_frames':
      case 'image_size':
      case 'synthetic_count': {
        const n = Number(value)
        const min = key === 'max_frames' ? 2 : key === 'image_size' ? 8 : 1
        if (!Number.isInteger(n) || n < min || n > 100_000) throw configError(`${name} must be an integer ≥ ${min} (got ${JSON.stringify(value)}).`)
        config[key] = n
        break
      }
      case 'min_progress_gap': {
        const n = Number(value)
        if (!Number.isFinite(n) || n <= 0 || n >= 1) throw configError(`${name} must be a number in (0, 1) (got ${JSON.stringify(value)}).`)
        config.min_progress_gap = n
        break
      }
      case 'missing_progress': {
        if (value !== 'error' && value !== 'linear') throw configError(`${name} must be 'error' or 'linear' (got ${JSON.stringify(value)}).`)
        config.missing_progress = value
        break
      }
      default:
        throw configError(`Unknown key ${name}.`, `Keys: ${KEYS.map((k) => `data.${k}`).join(', ')}.`)
    }
  }
  return config
}

/** The ratio normalised to sum 1. */
export function normalisedRatio(config: DataConfig): [number, number, number] {
  const sum = config.sample_type_ratio.reduce((a, b) => a + b, 0)
  return config.sample_type_ratio.map((v) => v / sum) as [number, number, number]
}
