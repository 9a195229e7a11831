/**
 * VSR (Visual Spatial Reasoning, cambridgeltl/vsr_random) as released: JSON lines with image (a file
 * name), caption, label (1 = the caption is true of the image, 0 = false), relation, subj, obj, and
 * the COCO images in a folder. `vsr=DIR` holds test.jsonl (or one .jsonl) and images/; `vsr=FILE.jsonl`
 * takes its images from --images DIR (default: images/ beside the file). A line that is not a JSON
 * object or lacks a field is counted as unreadable; a file whose first record is not VSR's is a
 * FormatError naming the file and the column.
 */
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import * as path from 'node:path'

import {FormatError} from '../formats/errors'
import type {Benchmark, EvalSample} from './types'

const HINT = 'VSR splits are JSON lines with image, caption, label (0/1), relation, subj, obj; images in a folder (images/ or --images DIR).'

export function vsrLocation(location: string, imagesDir?: string): {file: string; images: string} {
  if (!existsSync(location)) throw new FormatError(location, 'does not exist', {hint: HINT})
  let file = location
  if (statSync(location).isDirectory()) {
    const jsonl = readdirSync(location).filter((f) => f.endsWith('.jsonl'))
    const pick = jsonl.includes('test.jsonl') ? 'test.jsonl' : jsonl.length === 1 ? jsonl[0] : undefined
    if (!pick)
      throw new FormatError(location, jsonl.length === 0 ? 'holds no .jsonl split' : `holds ${jsonl.length} .jsonl files and no test.jsonl`, {
        hint: 'Give the split file: vsr=DIR/test.jsonl (or dev.jsonl, train.jsonl).',
      })
    file = path.join(location, pick)
  }
  const images = imagesDir ?? (existsSync(path.join(path.dirname(file), 'images')) ? path.join(path.dirname(file), 'images') : path.dirname(file))
  if (!existsSync(images) || !statSync(images).isDirectory()) throw new FormatError(images, 'is not a folder of images', {hint: 'Give the VSR images folder with --images DIR.'})
  return {file, images}
}

function sampleOf(r: Record<string, unknown>, line: number, name: string, images: string): EvalSample {
  const bad = (field: string, why: string) => new Error(`${name} line ${line}: ${field} ${why}`)
  for (const f of ['image', 'caption', 'relation']) if (typeof r[f] !== 'string' || (r[f] as string).trim() === '') throw bad(f, 'is missing or not a string')
  const label = r.label
  if (!(label === 0 || label === 1 || label === true || label === false || label === '0' || label === '1')) throw bad('label', `is ${JSON.stringify(label)}, not 0 or 1`)
  const truth = label === 1 || label === true || label === '1'
  const file = path.resolve(images, r.image as string)
  if (!existsSync(file)) throw bad('image', `${file} does not exist`)
  return {
    id: `${name}:${line}`,
    task: r.relation as string,
    question: `${r.caption as string} true or false ?`,
    answer: truth ? 'true' : 'false',
    kind: 'truth',
    image: {file, source: file},
  }
}

/** The first `limit` lines of a VSR split. */
export async function readVsr(name: string, location: string, imagesDir: string | undefined, limit = Infinity): Promise<Benchmark> {
  const {file, images} = vsrLocation(location, imagesDir)
  const base = path.basename(file)
  const samples: EvalSample[] = []
  const unreadable: string[] = []
  const lines = readFileSync(file, 'utf8').split('\n')
  let first = true
  for (let i = 0; i < lines.length && samples.length + unreadable.length < limit; i++) {
    const text = lines[i].trim()
    if (text === '') continue
    let record: unknown
    try {
      record = JSON.parse(text)
    } catch (error) {
      if (first) throw new FormatError(file, `is not JSON lines: line ${i + 1} does not parse (${(error as Error).message})`, {hint: HINT})
      unreadable.push(`${base} line ${i + 1}: not valid JSON`)
      continue
    }
    if (first) {
      const r = record as Record<string, unknown>
      if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new FormatError(file, 'is not VSR: line 1 is not a JSON object', {hint: HINT})
      for (const field of ['image', 'caption', 'label', 'relation']) {
        if (!(field in r)) throw new FormatError(file, `is not VSR: field "${field}" is missing (fields: ${Object.keys(r).join(', ')})`, {row: i + 1, field, hint: HINT})
      }
      first = false
    }
    try {
      if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new Error(`${base} line ${i + 1}: not a JSON object`)
      samples.push(sampleOf(record as Record<string, unknown>, i + 1, base, images))
    } catch (error) {
      unreadable.push((error as Error).message)
    }
  }
  return {name, source: `${file} (images ${images})`, samples, unreadable}
}
