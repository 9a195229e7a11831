/**
 * VQA rows for the built-in trainer: generated spatial/counting scenes, a Hugging Face
 * `save_to_disk` dataset (or DatasetDict split), or JSONL + image files. Images are decoded, fitted
 * within min_pixels/max_pixels, then resized to the compact model's square input.
 */
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import * as path from 'node:path'

import type {PluginApi} from '@rfm/plugin-api'

import type {GrpoConfig} from './config'
import type {RewardSample} from './rewards/types'

export interface VqaRow extends RewardSample {
  /** HWC floats in [0, 1], imageSize × imageSize × 3 */
  image: Float32Array
  source?: string
}

export interface LoadedRows {
  rows: VqaRow[]
  skipped: number
  /** one line per skipped row (reason) */
  skippedWhy: string[]
}

type Formats = Awaited<ReturnType<NonNullable<PluginApi['loadFormats']>>>

export class DatasetRowError extends Error {}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new DatasetRowError(`${field} is not a list of strings`)
  return value as string[]
}

/** Checks one record's fields (image handled by the caller); throws DatasetRowError naming the field. */
function readFields(record: Record<string, unknown>): Omit<VqaRow, 'image'> {
  for (const field of ['question', 'answer'] as const) {
    if (record[field] === undefined || record[field] === null) throw new DatasetRowError(`${field} is missing`)
    if (typeof record[field] !== 'string') throw new DatasetRowError(`${field} is not a string`)
  }
  if ((record.question as string).trim() === '') throw new DatasetRowError('question is empty')
  if ((record.answer as string).trim() === '') throw new DatasetRowError('answer is empty')
  if (record.reference_steps === undefined || record.reference_steps === null) throw new DatasetRowError('reference_steps is missing')
  return {
    question: record.question as string,
    answer: record.answer as string,
    referenceSteps: stringList(record.reference_steps, 'reference_steps'),
    choices: stringList(record.choices, 'choices'),
    options: stringList(record.options, 'options'),
    source: typeof record.source === 'string' ? record.source : undefined,
    task: typeof record.task === 'string' ? record.task : undefined,
  }
}

function toModelImage(formats: Formats, bytes: Uint8Array, source: string, c: GrpoConfig, imageSize: number): Float32Array {
  let img
  try {
    img = formats.decodeImage(bytes, source)
  } catch (error) {
    throw new DatasetRowError(`image does not decode (${(error as Error).message})`)
  }
  const fitted = formats.fitPixels(img, {minPixels: c.min_pixels, maxPixels: c.max_pixels})
  return formats.imageToFloat(formats.resizeImage(fitted, imageSize, imageSize))
}

/**
 * Where the rows are: a .jsonl file; a save_to_disk folder (dataset_info.json / state.json /
 * dataset_dict.json); or a folder holding <split>.jsonl or a single .jsonl (staged files arrive as folders).
 */
export function resolveDatasetLocation(location: string, split: string): string {
  if (!existsSync(location)) throw new DatasetRowError(`dataset ${location} does not exist`)
  if (!statSync(location).isDirectory()) return location
  if (['dataset_info.json', 'state.json', 'dataset_dict.json'].some((f) => existsSync(path.join(location, f)))) return location
  const jsonl = readdirSync(location).filter((f) => f.endsWith('.jsonl'))
  if (jsonl.includes(`${split}.jsonl`)) return path.join(location, `${split}.jsonl`)
  if (jsonl.length === 1) return path.join(location, jsonl[0])
  throw new DatasetRowError(`dataset ${location} is neither a Hugging Face save_to_disk folder nor holds ${split}.jsonl`)
}

/** Rows of a save_to_disk folder or a .jsonl file; a bad row fails the load (naming it) unless skip_invalid. */
export async function loadDatasetRows(formats: Formats, location: string, split: string, c: GrpoConfig, imageSize: number, limit = Infinity): Promise<LoadedRows> {
  const rows: VqaRow[] = []
  const skippedWhy: string[] = []
  const take = (where: string, build: () => VqaRow) => {
    try {
      rows.push(build())
    } catch (error) {
      if (!(error instanceof DatasetRowError)) throw error
      const message = `${where}: ${error.message}`
      if (!c.skip_invalid) throw new DatasetRowError(`dataset ${message} (--skip-invalid skips such rows and counts them)`)
      skippedWhy.push(message)
    }
  }
  if (location.endsWith('.jsonl')) {
    const imageRoot = c.image_root ?? path.dirname(location)
    for await (const {line, record} of formats.readJsonl(location)) {
      if (rows.length >= limit) break
      take(`${path.basename(location)} line ${line}`, () => {
        if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new DatasetRowError('not a JSON object')
        const r = record as Record<string, unknown>
        const image = r.image ?? r.image_path
        if (typeof image !== 'string' || image === '') throw new DatasetRowError('image (a path) is missing')
        let file: string
        try {
          // a row names its image relative to the dataset; it may not lead outside it
          file = formats.resolveInside(imageRoot, imageRoot, image)
        } catch {
          throw new DatasetRowError(`image ${JSON.stringify(image)} leads outside the dataset folder ${imageRoot}`)
        }
        let bytes: Uint8Array
        try {
          bytes = readFileSync(file)
        } catch {
          throw new DatasetRowError(`image ${file} cannot be read`)
        }
        return {...readFields(r), image: toModelImage(formats, bytes, file, c, imageSize)}
      })
    }
  } else {
    const ds = await formats.readHfDataset(location, {split})
    let index = 0
    for await (const record of ds.rows()) {
      if (rows.length >= limit) break
      const where = `row ${index++}`
      take(where, () => {
        const img = record.image as {bytes?: Uint8Array | null; path?: string | null} | null | undefined
        if (!img) throw new DatasetRowError('image is missing')
        let bytes = img.bytes ?? undefined
        if (!bytes && img.path) {
          let file: string
          try {
            file = formats.resolveInside(location, location, img.path)
          } catch {
            throw new DatasetRowError(`image path ${JSON.stringify(img.path)} leads outside the dataset folder ${location}`)
          }
          try {
            bytes = readFileSync(file)
          } catch {
            throw new DatasetRowError(`image has no bytes and its path ${img.path} cannot be read`)
          }
        }
        if (!bytes) throw new DatasetRowError('image has neither bytes nor a path')
        return {...readFields(record), image: toModelImage(formats, bytes, `${location} ${where}`, c, imageSize)}
      })
    }
  }
  return {rows, skipped: skippedWhy.length, skippedWhy}
}

/** Generated rows: indices [from, from + count) of the spatial scene generator (pure in (seed, index)). */
export function generatedRows(trainer: Awaited<ReturnType<PluginApi['loadTrainer']>>, c: GrpoConfig, imageSize: number, from: number, count: number): VqaRow[] {
  const d = c.builtin.data
  return Array.from({length: count}, (_, k) => {
    const s = trainer.makeSpatialSample(d.seed, from + k, imageSize, {tasks: d.tasks})
    const steps = d.max_reference_steps === null ? s.reasoningSteps : s.reasoningSteps.slice(Math.max(0, s.reasoningSteps.length - d.max_reference_steps))
    return {image: s.image, question: s.question, answer: s.answer, referenceSteps: steps, choices: s.choices ?? [], task: s.task, source: 'generated'}
  })
}
