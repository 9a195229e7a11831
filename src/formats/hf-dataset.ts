/**
 * Hugging Face `datasets` on disk (`Dataset.save_to_disk`): Arrow IPC *stream* shards
 * `data-0000i-of-0000n.arrow` whose schema carries the features as JSON under the `huggingface`
 * metadata key, plus dataset_info.json and state.json; a DatasetDict is dataset_dict.json naming
 * split folders. We read and write that layout without Python.
 */
import {randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdir, readdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import * as path from 'node:path'

import type * as ArrowModule from 'apache-arrow'

import {FormatError} from './errors'
import {resolveInside} from '../paths'

type Arrow = typeof ArrowModule
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadArrow = (): Arrow => require('apache-arrow')

/** A `datasets` feature description, as in dataset_info.json. */
export type HfFeature =
  {_type: 'Value'; dtype: string} | {_type: 'Image'} | {_type: 'ClassLabel'; names: string[]} | {_type: 'Sequence' | 'List'; feature: HfFeature; length?: number} | {[field: string]: HfFeature}
export type HfFeatures = Record<string, HfFeature>

export interface HfDataset {
  dir: string
  numRows: number
  features: HfFeatures
  columns: string[]
  /** Rows in order. Image columns give {bytes, path}; int64 gives number; lists give arrays; structs objects. */
  rows(): AsyncGenerator<Record<string, unknown>>
}

async function readJson(file: string): Promise<any> {
  try {
    return JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    throw new FormatError(file, `cannot read as JSON: ${(error as Error).message}`)
  }
}

/** Opens a saved Dataset, or one split of a saved DatasetDict (default: train, else the only split). */
export async function readHfDataset(dir: string, options: {split?: string} = {}): Promise<HfDataset> {
  if (!existsSync(dir)) throw new FormatError(dir, 'no such dataset folder')
  if (existsSync(path.join(dir, 'dataset_dict.json'))) {
    const splits: string[] = (await readJson(path.join(dir, 'dataset_dict.json'))).splits ?? []
    const split = options.split ?? (splits.includes('train') ? 'train' : splits.length === 1 ? splits[0] : undefined)
    if (!split || !splits.includes(split))
      throw new FormatError(dir, options.split ? `the DatasetDict has no split "${options.split}"` : 'a DatasetDict with several splits and none named train', {
        hint: `Choose a split: ${splits.join(', ')}.`,
      })
    return readHfDataset(path.join(dir, split))
  }
  const statePath = path.join(dir, 'state.json')
  const files: string[] = existsSync(statePath)
    ? ((await readJson(statePath))._data_files ?? []).map((f: {filename: string}) => f.filename)
    : (await readdir(dir)).filter((f) => f.endsWith('.arrow')).sort()
  if (files.length === 0) throw new FormatError(dir, 'no .arrow data files', {hint: 'Expected the output of datasets.Dataset.save_to_disk (state.json + data-*.arrow).'})
  const A = loadArrow()
  const tables: ArrowModule.Table[] = []
  for (const file of files) {
    // state.json is data too: a shard name like ../../etc/passwd must not open a file outside dir.
    let full: string
    try {
      full = resolveInside(dir, dir, String(file))
    } catch {
      throw new FormatError(statePath, `the data file ${JSON.stringify(file)} lies outside the dataset folder`, {hint: 'state.json _data_files names .arrow files inside the save_to_disk folder.'})
    }
    try {
      tables.push(A.tableFromIPC(await readFile(full)))
    } catch (error) {
      throw new FormatError(full, `not an Arrow IPC file: ${(error as Error).message}`)
    }
    // an empty or zeroed shard reads as a table without columns: name the shard, not a missing column
    if (tables.at(-1)!.schema.fields.length === 0)
      throw new FormatError(full, 'not an Arrow IPC file: no schema (the shard is empty or damaged)', {hint: 'Write the dataset again (datasets save_to_disk, or rfm sft dataset generate).'})
  }
  let features: HfFeatures | undefined
  if (existsSync(path.join(dir, 'dataset_info.json'))) features = (await readJson(path.join(dir, 'dataset_info.json'))).features
  const meta = tables[0].schema.metadata.get('huggingface')
  if (!features && meta) features = JSON.parse(meta).info?.features
  const columns = tables[0].schema.fields.map((f) => f.name)
  return {
    dir,
    numRows: tables.reduce((n, t) => n + t.numRows, 0),
    features: features ?? {},
    columns,
    async *rows() {
      for (const table of tables) {
        for (const batch of table.batches) {
          const children = batch.schema.fields.map((field, i) => ({name: field.name, type: field.type, vector: batch.getChildAt(i)!}))
          for (let r = 0; r < batch.numRows; r++) {
            const row: Record<string, unknown> = {}
            for (const c of children) row[c.name] = toPlain(A, c.vector.get(r), c.type)
            yield row
          }
        }
      }
    },
  }
}

function toPlain(A: Arrow, value: any, type: ArrowModule.DataType): unknown {
  if (value === null || value === undefined) return null
  if (A.DataType.isStruct(type)) {
    const out: Record<string, unknown> = {}
    for (const field of type.children) out[field.name] = toPlain(A, value[field.name], field.type)
    return out
  }
  if (A.DataType.isList(type) || A.DataType.isFixedSizeList(type) || (type as any).typeId === A.Type.LargeList) {
    const child = (type as any).children[0].type
    return Array.from(value as Iterable<unknown>, (v) => toPlain(A, v, child))
  }
  if (typeof value === 'bigint') return Number(value)
  if (A.DataType.isBinary(type) || (type as any).typeId === A.Type.LargeBinary) return value as Uint8Array
  return value
}

function arrowType(A: Arrow, feature: HfFeature, where: string): ArrowModule.DataType {
  const f = feature as any
  switch (f._type) {
    case 'Value': {
      const types: Record<string, () => ArrowModule.DataType> = {
        string: () => new A.Utf8(),
        large_string: () => new A.LargeUtf8(),
        binary: () => new A.Binary(),
        bool: () => new A.Bool(),
        float16: () => new A.Float16(),
        float32: () => new A.Float32(),
        float64: () => new A.Float64(),
        int8: () => new A.Int8(),
        int16: () => new A.Int16(),
        int32: () => new A.Int32(),
        int64: () => new A.Int64(),
        uint8: () => new A.Uint8(),
        uint16: () => new A.Uint16(),
        uint32: () => new A.Uint32(),
        uint64: () => new A.Uint64(),
      }
      if (!types[f.dtype]) throw new Error(`writeHfDataset: ${where}: unsupported Value dtype ${f.dtype}`)
      return types[f.dtype]()
    }
    case 'Image':
      return new A.Struct([new A.Field('bytes', new A.Binary(), true), new A.Field('path', new A.Utf8(), true)])
    case 'ClassLabel':
      return new A.Int64()
    case 'Sequence':
    case 'List':
      return new A.List(new A.Field('item', arrowType(A, f.feature, `${where}[]`), true))
    case undefined:
      return new A.Struct(Object.entries(f).map(([name, child]) => new A.Field(name, arrowType(A, child as HfFeature, `${where}.${name}`), true)))
    default:
      throw new Error(`writeHfDataset: ${where}: unsupported feature type ${f._type}`)
  }
}

/** Puts a JS value into the shape the Arrow builder of `feature` wants (bigint for int64, image structs). */
function toArrowValue(value: unknown, feature: HfFeature): unknown {
  if (value === null || value === undefined) return null
  const f = feature as any
  switch (f._type) {
    case 'Value':
      return /^u?int64$/.test(f.dtype) ? BigInt(value as number) : value
    case 'ClassLabel':
      return BigInt(value as number)
    case 'Image':
      return value instanceof Uint8Array ? {bytes: value, path: null} : {bytes: (value as any).bytes ?? null, path: (value as any).path ?? null}
    case 'Sequence':
    case 'List':
      return (value as unknown[]).map((v) => toArrowValue(v, f.feature))
    default: {
      const out: Record<string, unknown> = {}
      for (const [name, child] of Object.entries(f)) out[name] = toArrowValue((value as any)[name], child as HfFeature)
      return out
    }
  }
}

function encodeShard(A: Arrow, rows: Record<string, unknown>[], features: HfFeatures): Uint8Array {
  const names = Object.keys(features)
  const fields: ArrowModule.Field[] = []
  const data: ArrowModule.Data[] = []
  for (const name of names) {
    const type = arrowType(A, features[name], name)
    const builder = A.makeBuilder({type, nullValues: [null, undefined]})
    for (const row of rows) builder.append(toArrowValue(row[name], features[name]))
    builder.finish()
    fields.push(new A.Field(name, type, true))
    data.push(builder.flush() as ArrowModule.Data)
  }
  const schema = new A.Schema(fields, new Map([['huggingface', JSON.stringify({info: {features}})]]))
  const struct = A.makeData({type: new A.Struct(fields), length: rows.length, nullCount: 0, children: data})
  const table = new A.Table(schema, [new A.RecordBatch(schema, struct)])
  return A.tableToIPC(table, 'stream')
}

/**
 * Writes rows as `Dataset.save_to_disk` does (shards of `shardRows` rows, default 50 000), into a
 * temporary sibling folder renamed into place at the end: a crash never leaves half a dataset at `dir`.
 */
export async function writeHfDataset(
  dir: string,
  rows: Iterable<Record<string, unknown>> | AsyncIterable<Record<string, unknown>>,
  features: HfFeatures,
  options: {shardRows?: number} = {},
): Promise<{numRows: number; shards: number}> {
  const A = loadArrow()
  const shardRows = Math.max(1, options.shardRows ?? 50_000)
  const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`
  await mkdir(tmp, {recursive: true})
  try {
    const written: string[] = []
    let numRows = 0
    let pending: Record<string, unknown>[] = []
    const flush = async () => {
      const name = `shard-${written.length}.arrow`
      await writeFile(path.join(tmp, name), encodeShard(A, pending, features))
      written.push(name)
      pending = []
    }
    for await (const row of rows as AsyncIterable<Record<string, unknown>>) {
      pending.push(row)
      numRows++
      if (pending.length >= shardRows) await flush()
    }
    if (pending.length > 0 || written.length === 0) await flush()
    const n = written.length
    const names = written.map((_, i) => `data-${String(i).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.arrow`)
    for (let i = 0; i < n; i++) await rename(path.join(tmp, written[i]), path.join(tmp, names[i]))
    await writeFile(path.join(tmp, 'dataset_info.json'), JSON.stringify({citation: '', description: '', features, homepage: '', license: ''}, null, 2))
    await writeFile(
      path.join(tmp, 'state.json'),
      JSON.stringify(
        {
          _data_files: names.map((filename) => ({filename})),
          _fingerprint: randomBytes(8).toString('hex'),
          _format_columns: null,
          _format_kwargs: {},
          _format_type: null,
          _output_all_columns: false,
          _split: null,
        },
        null,
        2,
      ),
    )
    if (existsSync(dir)) {
      const old = `${dir}.old-${randomBytes(4).toString('hex')}`
      await rename(dir, old)
      await rename(tmp, dir)
      await rm(old, {recursive: true, force: true})
    } else {
      await mkdir(path.dirname(dir), {recursive: true})
      await rename(tmp, dir)
    }
    return {numRows, shards: n}
  } catch (error) {
    await rm(tmp, {recursive: true, force: true})
    throw error
  }
}

/** Writes a DatasetDict: one saved Dataset per split plus dataset_dict.json. */
export async function writeHfDatasetDict(dir: string, splits: Record<string, Iterable<Record<string, unknown>>>, features: HfFeatures, options: {shardRows?: number} = {}): Promise<void> {
  await mkdir(dir, {recursive: true})
  for (const [split, rows] of Object.entries(splits)) await writeHfDataset(path.join(dir, split), rows, features, options)
  await writeFile(path.join(dir, 'dataset_dict.json'), JSON.stringify({splits: Object.keys(splits)}))
}
