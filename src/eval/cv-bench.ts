/**
 * CV-Bench as its authors release it (nyu-visionx/CV-Bench): `test_2d.parquet`, `test_3d.parquet`,
 * or a folder holding them. Columns used: idx, type (2D/3D), task (Count, Relation, Depth,
 * Distance), image (struct of bytes, path), question, choices (list of strings), answer ("(A)"),
 * prompt. Read with hyparquet (snappy, zstd, gzip, brotli, lz4 pages through hyparquet-compressors),
 * loaded on first use. A missing or mistyped column is a FormatError naming the file and column; a
 * bad row is counted as unreadable.
 */
import {existsSync, readdirSync, statSync} from 'node:fs'
import * as path from 'node:path'

import {FormatError} from '../formats/errors'
import type {Benchmark, EvalSample} from './types'

type Tree = {children: Tree[]; element: {name: string; type?: string; repetition_type?: string; converted_type?: string; logical_type?: {type: string}}}

const FILES = ['test_2d.parquet', 'test_3d.parquet']

/** The parquet files of a CV-Bench path: the file itself, or the released files (any *.parquet) of a folder. */
export function cvBenchFiles(location: string): string[] {
  if (!existsSync(location)) throw new FormatError(location, 'does not exist', {hint: 'Give a CV-Bench parquet file (test_2d.parquet, test_3d.parquet) or the folder holding them.'})
  if (!statSync(location).isDirectory()) return [location]
  const all = readdirSync(location).filter((f) => f.endsWith('.parquet'))
  const released = FILES.filter((f) => all.includes(f))
  const files = (released.length > 0 ? released : all.sort()).map((f) => path.join(location, f))
  if (files.length === 0) throw new FormatError(location, 'holds no .parquet file', {hint: 'CV-Bench releases test_2d.parquet and test_3d.parquet.'})
  return files
}

const isString = (t: Tree) => t.children.length === 0 && t.element.type === 'BYTE_ARRAY'
const isList = (t: Tree) => t.element.converted_type === 'LIST' || t.element.logical_type?.type === 'LIST' || t.element.repetition_type === 'REPEATED'

/** Checks the released schema; throws naming the first column that is missing or of another type. */
function checkSchema(file: string, root: Tree): void {
  const col = (name: string) => root.children.find((c) => c.element.name === name)
  const missing = ['idx', 'type', 'task', 'image', 'question', 'choices', 'answer'].find((name) => !col(name))
  if (missing)
    throw new FormatError(file, `is not a CV-Bench file: column "${missing}" is missing (columns: ${root.children.map((c) => c.element.name).join(', ')})`, {
      field: missing,
      hint: 'CV-Bench parquet files have idx, type, task, image, question, choices, answer, prompt.',
    })
  const expect = (name: string, ok: (t: Tree) => boolean, what: string) => {
    if (!ok(col(name)!))
      throw new FormatError(file, `column "${name}" is not ${what}`, {field: name, hint: 'Use the files as CV-Bench releases them (nyu-visionx/CV-Bench test_2d.parquet, test_3d.parquet).'})
  }
  expect('idx', (t) => t.children.length === 0 && (t.element.type === 'INT64' || t.element.type === 'INT32'), 'an integer')
  for (const name of ['type', 'task', 'question', 'answer']) expect(name, isString, 'a string')
  expect('image', (t) => t.children.some((c) => c.element.name === 'bytes' && c.element.type === 'BYTE_ARRAY'), 'a struct with bytes (an image feature)')
  expect('choices', isList, 'a list')
}

/** "(A)" / "A" → 0; undefined when it names no letter. */
export function letterIndex(answer: string): number | undefined {
  const m = /^\s*\(?([A-Za-z])\)?\s*$/.exec(answer)
  return m ? m[1].toUpperCase().charCodeAt(0) - 65 : undefined
}

function sampleOf(file: string, row: number, r: Record<string, unknown>): EvalSample {
  const bad = (field: string, why: string) => new Error(`${path.basename(file)} row ${row}: ${field} ${why}`)
  for (const f of ['type', 'task', 'question', 'answer']) if (typeof r[f] !== 'string' || (r[f] as string).trim() === '') throw bad(f, 'is missing or not a string')
  const choices = r.choices
  if (!Array.isArray(choices) || choices.length < 2 || !choices.every((c) => typeof c === 'string' || typeof c === 'number')) throw bad('choices', 'is not a list of at least two options')
  const letter = letterIndex(r.answer as string)
  if (letter === undefined || letter >= choices.length) throw bad('answer', `"${r.answer as string}" names none of the ${choices.length} choices`)
  const image = r.image as {bytes?: unknown; path?: unknown} | null
  if (!image || !(image.bytes instanceof Uint8Array) || image.bytes.length === 0) throw bad('image', 'has no bytes')
  const id = typeof r.idx === 'bigint' || typeof r.idx === 'number' ? String(r.idx) : String(row)
  return {
    id,
    task: r.task as string,
    type: (r.type as string).toUpperCase(),
    question: r.question as string,
    choices: choices.map(String),
    answer: r.answer as string,
    kind: 'choice',
    image: {bytes: image.bytes, source: `${path.basename(file)} idx ${id}`},
  }
}

/** The first `limit` rows of the CV-Bench file(s) at `location` (limit per benchmark, across its files). */
export async function readCvBench(name: string, location: string, limit = Infinity): Promise<Benchmark> {
  const files = cvBenchFiles(location)
  const {asyncBufferFromFile, parquetMetadataAsync, parquetSchema, parquetReadObjects} = await import('hyparquet')
  const {compressors} = await import('hyparquet-compressors')
  const samples: EvalSample[] = []
  const unreadable: string[] = []
  for (const file of files) {
    if (samples.length + unreadable.length >= limit) break
    let buffer
    let metadata
    try {
      buffer = await asyncBufferFromFile(file)
      metadata = await parquetMetadataAsync(buffer)
    } catch (error) {
      throw new FormatError(file, `is not a parquet file (${(error as Error).message})`, {hint: 'CV-Bench releases test_2d.parquet and test_3d.parquet.'})
    }
    checkSchema(file, parquetSchema(metadata) as unknown as Tree)
    const rowEnd = Math.min(Number(metadata.num_rows), limit - samples.length - unreadable.length)
    const rows = await parquetReadObjects({file: buffer, metadata, compressors, utf8: false, rowEnd, columns: ['idx', 'type', 'task', 'image', 'question', 'choices', 'answer']})
    rows.forEach((r, i) => {
      try {
        samples.push(sampleOf(file, i, r as Record<string, unknown>))
      } catch (error) {
        unreadable.push((error as Error).message)
      }
    })
  }
  return {name, source: files.join(', '), samples, unreadable, aggregate: 'cv-bench'}
}
