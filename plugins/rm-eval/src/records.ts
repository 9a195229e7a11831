/**
 * Preference records from disk, the pipeline's format: `{chosen, rejected, images}` (optionally a
 * `prompt`), as JSON lines with image files beside them, or a Hugging Face `save_to_disk` dataset
 * (Image features hold the encoded bytes). `chosen`/`rejected` are response strings (the query then
 * comes from `prompt`) or chat-message lists as TRL writes them (`[{role, content}]`, content a
 * string or parts `{type: 'text', text}` / `{type: 'image'}`): the last assistant message is the
 * response, the messages before it the query (both lists must share it). A bad record is a
 * FormatError naming the file and line (JSONL) or row (HF) and the field.
 */
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import * as path from 'node:path'

import type {PluginApi, RgbImage} from '@rfm/plugin-api'

import {NO_MATCH, PreferencePair} from './preference-data'
import type {RngClass as RngCtor} from '@rfm/plugin-api'

type Formats = Awaited<ReturnType<PluginApi['loadFormats']>>

export interface PreferenceRecord {
  /** file:line or dir row N, for messages */
  source: string
  query: string
  chosen: string
  rejected: string
  /** the record's image, decoded, fitted to min_pixels/max_pixels */
  image: RgbImage
}

export interface RecordOptions {
  minPixels?: number
  maxPixels?: number
  /** read at most this many records */
  limit?: number
  /** a DatasetDict's split (default train) */
  split?: string
}

/** Whether `dir` is a `save_to_disk` dataset (a Dataset or a DatasetDict). */
export function isHfDataset(dir: string): boolean {
  return existsSync(path.join(dir, 'state.json')) || existsSync(path.join(dir, 'dataset_dict.json'))
}

/** The JSONL file of a dataset path: the path itself, or the only .jsonl file in the folder. */
function jsonlFile(datasetPath: string, formats: Formats): string {
  if (!statSync(datasetPath).isDirectory()) return datasetPath
  const found = readdirSync(datasetPath).filter((f) => f.endsWith('.jsonl'))
  if (found.length !== 1)
    throw new formats.FormatError(datasetPath, found.length === 0 ? 'neither a save_to_disk dataset nor a folder with a .jsonl file' : `several .jsonl files (${found.join(', ')})`, {
      hint: 'Point dataset_path at the .jsonl file, or at a datasets save_to_disk folder.',
    })
  return path.join(datasetPath, found[0])
}

/** Text of a message's content: a string, or the text parts of a list. */
function contentText(content: unknown, fail: (why: string) => never): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    return content
      .map((part) => {
        if (part && typeof part === 'object' && (part as {type?: unknown}).type === 'text') return String((part as {text?: unknown}).text ?? '')
        if (part && typeof part === 'object' && (part as {type?: unknown}).type === 'image') return ''
        return fail('a content part is neither {type: text} nor {type: image}')
      })
      .filter(Boolean)
      .join(' ')
  }
  return fail('a message content is neither a string nor a list of parts')
}

/** A response field: a string, or messages whose last assistant message is the response. */
function splitConversation(value: unknown, fail: (why: string) => never): {prefix: string; response: string} {
  if (typeof value === 'string') return {prefix: '', response: value}
  if (!Array.isArray(value) || value.length === 0) return fail('expected a string or a non-empty list of chat messages')
  const messages = value.map((m) => {
    if (!m || typeof m !== 'object' || typeof (m as {role?: unknown}).role !== 'string') return fail('a message without a role')
    return {role: (m as {role: string}).role, text: contentText((m as {content?: unknown}).content, fail)}
  })
  const last = messages.at(-1)!
  if (last.role !== 'assistant') return fail("the last message is not the assistant's response")
  return {
    prefix: messages
      .slice(0, -1)
      .map((m) => m.text)
      .filter(Boolean)
      .join(' '),
    response: last.text,
  }
}

/** Where a record's image paths resolve: relative to `base`, and never outside `root` (the dataset). */
export interface RecordDirs {
  root: string
  base: string
}

/** Bytes of an image entry: an HF Image {bytes, path}, or a path (relative to dirs.base, inside dirs.root). */
function imageBytes(formats: Formats, entry: unknown, dirs: RecordDirs, fail: (why: string) => never): Uint8Array {
  if (entry && typeof entry === 'object' && (entry as {bytes?: unknown}).bytes instanceof Uint8Array) return (entry as {bytes: Uint8Array}).bytes
  const file = typeof entry === 'string' ? entry : entry && typeof entry === 'object' ? (entry as {path?: unknown}).path : undefined
  if (typeof file !== 'string' || !file) return fail('an image is neither a path nor {bytes, path}')
  let full: string
  try {
    full = formats.resolveInside(dirs.root, dirs.base, file)
  } catch {
    return fail(`the image path ${JSON.stringify(file)} leads outside the dataset folder ${dirs.root}`)
  }
  if (!existsSync(full)) return fail(`image file ${full} does not exist`)
  return readFileSync(full)
}

/** One record → its query, responses and decoded image. */
export function parseRecord(formats: Formats, raw: unknown, where: {source: string; row?: number}, dirs: RecordDirs, options: RecordOptions): PreferenceRecord {
  const failAt =
    (field: string | undefined) =>
    (why: string): never => {
      throw new formats.FormatError(where.source, why, {row: where.row, field, hint: 'A record is {chosen, rejected, images} (optionally prompt); chosen/rejected are strings or chat-message lists.'})
    }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return failAt(undefined)('a record must be a JSON object')
  const r = raw as Record<string, unknown>
  for (const field of ['chosen', 'rejected']) if (r[field] === undefined || r[field] === null) failAt(field)('missing')
  const chosen = splitConversation(r.chosen, failAt('chosen'))
  const rejected = splitConversation(r.rejected, failAt('rejected'))
  if (chosen.prefix !== rejected.prefix) failAt('rejected')("its messages before the response differ from chosen's (both must share the prompt)")
  let query = chosen.prefix
  if (r.prompt !== undefined && r.prompt !== null) {
    const p = r.prompt
    query = [
      typeof p === 'string'
        ? p
        : Array.isArray(p)
          ? p.map((m) => contentText((m as {content?: unknown})?.content, failAt('prompt'))).join(' ')
          : failAt('prompt')('expected a string or chat messages'),
      query,
    ]
      .filter(Boolean)
      .join(' ')
  }
  const images = r.images ?? (r.image === undefined ? undefined : [r.image])
  if (!Array.isArray(images) || images.length === 0) failAt('images')('a record needs one image (images: [path])')
  if ((images as unknown[]).length > 1) failAt('images')(`the built-in model reads one image per record; this one has ${(images as unknown[]).length}`)
  let image: RgbImage
  try {
    image = formats.decodeImage(imageBytes(formats, (images as unknown[])[0], dirs, failAt('images')), where.source)
  } catch (error) {
    if (error instanceof formats.FormatError && error.field) throw error
    return failAt('images')((error as Error).message.replace(/^[^:]*: /, ''))
  }
  image = formats.fitPixels(image, {minPixels: options.minPixels, maxPixels: options.maxPixels})
  return {source: where.row === undefined ? where.source : `${where.source} row ${where.row}`, query, chosen: chosen.response, rejected: rejected.response, image}
}

/** Reads the records of a JSONL file (images relative to it) or of a save_to_disk dataset. */
export async function readPreferenceRecords(api: PluginApi, datasetPath: string, options: RecordOptions = {}): Promise<PreferenceRecord[]> {
  const formats = await api.loadFormats()
  if (!existsSync(datasetPath)) throw new formats.FormatError(datasetPath, 'no such file or folder', {hint: 'dataset_path: a .jsonl file, a folder holding one, or a datasets save_to_disk folder.'})
  const limit = options.limit ?? Infinity
  const out: PreferenceRecord[] = []
  if (statSync(datasetPath).isDirectory() && isHfDataset(datasetPath)) {
    const ds = await formats.readHfDataset(datasetPath, {split: options.split})
    let row = 0
    for await (const record of ds.rows()) {
      if (out.length >= limit) break
      out.push(parseRecord(formats, record, {source: ds.dir, row}, {root: datasetPath, base: ds.dir}, options))
      row++
    }
    return out
  }
  const file = jsonlFile(datasetPath, formats)
  const dirs = {root: file === datasetPath ? path.dirname(file) : datasetPath, base: path.dirname(file)}
  for await (const {line, record} of formats.readJsonl(file)) {
    if (out.length >= limit) break
    out.push(parseRecord(formats, record, {source: `${file}:${line}`}, dirs, options))
  }
  if (out.length === 0) throw new formats.FormatError(file, 'no records')
  return out
}

/** Where a task's pairs come from: generated by (seed, index), or records read from disk. */
export interface PairSource {
  pair(index: number, imageSize: number): PreferencePair
  /** the k-th irrelevant-query pair of sample `index` */
  irrelevant(index: number, k: number, imageSize: number): PreferencePair
}

/**
 * Pairs from records. The image is resized to the model's square input. Irrelevant-query pair k of
 * record i keeps i's image and takes the query of another record j (picked by (seed, i, k)): chosen
 * = "the query does not match the image", rejected = j's chosen response.
 */
export function recordSource(formats: Formats, Rng: RngCtor, records: PreferenceRecord[], seed: number): PairSource {
  const image = (r: PreferenceRecord, size: number) => formats.imageToFloat(formats.resizeImage(r.image, size, size))
  return {
    pair(index, size) {
      const r = records[index]
      return {image: image(r, size), query: r.query, chosen: r.chosen, rejected: r.rejected, irrelevant: false, source: r.source}
    },
    irrelevant(index, k, size) {
      const r = records[index]
      if (records.length < 2) throw new Error('irrelevant-query pairs need at least 2 records')
      const j = (index + 1 + Rng.derive(seed, 0x1a2b, index, k).int(records.length - 1)) % records.length
      return {image: image(r, size), query: records[j].query, chosen: NO_MATCH, rejected: records[j].chosen, irrelevant: true, source: `${r.source} (query of ${records[j].source})`}
    },
  }
}

/** Every text of the records, for fitting the word tokenizer. */
export function recordCorpus(records: PreferenceRecord[]): string[] {
  return records.flatMap((r) => [r.query, r.chosen, r.rejected])
}
