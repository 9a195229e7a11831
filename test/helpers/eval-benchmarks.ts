/**
 * Benchmark files in their released schemas, written by writers independent of rfm's readers:
 * CV-Bench parquet by parquet-wasm (the Rust arrow-rs parquet writer compiled to wasm) from an
 * apache-arrow table, with the column names and types of nyu-visionx/CV-Bench (idx int64, type,
 * task, image struct<bytes: binary, path: string>, question, choices list<string>, answer "(A)",
 * prompt, filename, source); VSR as cambridgeltl/vsr_random's JSON lines (image, image_link,
 * caption, label 0/1, relation, subj, obj, annotator_id, vote_true_validator_id,
 * vote_false_validator_id) plus an images folder. Images are drawn scenes (rfm's spatial generator).
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'

import {encodePng, floatToImage} from '../../src/formats/image'
import {makeSpatialSample} from '../../src/trainer/tasks/spatial-scenes'

export interface CvBenchRow {
  idx: number
  type: '2D' | '3D'
  task: string
  image: {bytes: Uint8Array | null; path: string | null}
  question: string
  choices: string[]
  answer: string
  prompt: string
}

function png(image: Float32Array, size: number): Uint8Array {
  return encodePng(floatToImage(image, size, size))
}

/**
 * Rows like CV-Bench's, about drawn scenes (answers true to the image): 2D Count ("how many shapes
 * are there ?", options 1-4) and Relation (the spatial generator's "is the red circle left of or right
 * of the blue triangle ?", options as named); 3D Depth and Distance ask the same two kinds of question
 * (a flat scene has no depth) under CV-Bench's 3D task names. Answers are "(X)".
 */
export function cvBenchRows(type: '2D' | '3D', n: number, seed = 1, size = 32): CvBenchRow[] {
  const tasks = type === '2D' ? ['Count', 'Relation'] : ['Depth', 'Distance']
  return Array.from({length: n}, (_, i) => {
    const task = tasks[i % 2]
    const s = makeSpatialSample(seed, i, size, {tasks: ['relation'], maxObjects: task === tasks[0] ? 4 : 2})
    let question: string
    let choices: string[]
    let gold: number
    if (task === tasks[0]) {
      question = 'how many shapes are there ?'
      choices = ['1', '2', '3', '4']
      gold = s.objects.length - 1
    } else {
      question = s.question
      choices = /left of or right of/.test(s.question) ? ['left', 'right'] : ['above', 'below']
      gold = choices.indexOf(s.answer)
    }
    const prompt = `${question} Select from the following choices.\n${choices.map((c, k) => `(${String.fromCharCode(65 + k)}) ${c}`).join('\n')}`
    return {idx: i, type, task, image: {bytes: png(s.image, size), path: `img/${type}/${task.toLowerCase()}/${i}.png`}, question, choices, answer: `(${String.fromCharCode(65 + gold)})`, prompt}
  })
}

/** Writes rows as a parquet file with the given page compression (SNAPPY, ZSTD, UNCOMPRESSED). */
export function writeCvBenchParquet(file: string, rows: CvBenchRow[], compression: 'SNAPPY' | 'ZSTD' | 'UNCOMPRESSED' = 'SNAPPY', columns?: (row: CvBenchRow) => Record<string, unknown>): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const arrow = require('apache-arrow') as typeof import('apache-arrow')
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pw = require('parquet-wasm/node') as typeof import('parquet-wasm/node')
  const imageType = new arrow.Struct([new arrow.Field('bytes', new arrow.Binary(), true), new arrow.Field('path', new arrow.Utf8(), true)])
  const str = new arrow.Utf8()
  let table
  if (columns) {
    // a custom layout (tests of files that are not what they claim): every column as strings
    const records = rows.map(columns)
    const names = Object.keys(records[0])
    table = new arrow.Table(
      Object.fromEntries(
        names.map((n) => [
          n,
          arrow.vectorFromArray(
            records.map((r) => (r[n] === null || r[n] === undefined ? null : String(r[n]))),
            str,
          ),
        ]),
      ),
    )
  } else {
    table = new arrow.Table({
      idx: arrow.vectorFromArray(
        rows.map((r) => BigInt(r.idx)),
        new arrow.Int64(),
      ),
      type: arrow.vectorFromArray(
        rows.map((r) => r.type),
        str,
      ),
      task: arrow.vectorFromArray(
        rows.map((r) => r.task),
        str,
      ),
      image: arrow.vectorFromArray(
        rows.map((r) => r.image),
        imageType,
      ),
      question: arrow.vectorFromArray(
        rows.map((r) => r.question),
        str,
      ),
      choices: arrow.vectorFromArray(
        rows.map((r) => r.choices),
        new arrow.List(new arrow.Field('item', str, true)),
      ),
      answer: arrow.vectorFromArray(
        rows.map((r) => r.answer),
        str,
      ),
      prompt: arrow.vectorFromArray(
        rows.map((r) => r.prompt),
        str,
      ),
      filename: arrow.vectorFromArray(
        rows.map((r) => r.image.path),
        str,
      ),
      source: arrow.vectorFromArray(
        rows.map(() => 'generated'),
        str,
      ),
    })
  }
  const props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression[compression]).build()
  mkdirSync(path.dirname(file), {recursive: true})
  writeFileSync(file, pw.writeParquet(pw.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), props))
}

export interface VsrRecord {
  image: string
  caption: string
  label: number
  relation: string
  subj: string
  obj: string
}

/** A VSR split about drawn scenes: `dir/<split>.jsonl` and `dir/images/*.png`; captions true (label 1) or false (0) of their image. */
export function writeVsr(dir: string, n: number, seed = 2, size = 32, split = 'test'): VsrRecord[] {
  mkdirSync(path.join(dir, 'images'), {recursive: true})
  const records: VsrRecord[] = Array.from({length: n}, (_, i) => {
    const s = makeSpatialSample(seed, i, size, {tasks: ['relation'], maxObjects: 2})
    const image = `${String(100000 + i).padStart(12, '0')}.png`
    writeFileSync(path.join(dir, 'images', image), png(s.image, size))
    const label = (i * 5 + seed) % 2
    const opposite: Record<string, string> = {left: 'right', right: 'left', above: 'below', below: 'above'}
    const said = label === 1 ? s.answer : opposite[s.answer]
    const relation = said === 'left' || said === 'right' ? `${said} of` : said
    const [, subj, obj] = /^is (the \w+ \w+) .* (the \w+ \w+) \?$/.exec(s.question)!
    return {image, caption: `${subj[0].toUpperCase()}${subj.slice(1)} is ${relation} ${obj}.`, label, relation, subj: subj.split(' ')[2], obj: obj.split(' ')[2]}
  })
  const lines = records.map((r, i) =>
    JSON.stringify({...r, image_link: `http://images.cocodataset.org/train2017/${r.image}`, annotator_id: i % 3, vote_true_validator_id: [], vote_false_validator_id: []}),
  )
  writeFileSync(path.join(dir, `${split}.jsonl`), lines.join('\n') + '\n')
  return records
}
