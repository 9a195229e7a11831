/**
 * Reading a generated VQA dataset back: rows are loaded into memory (PNG bytes), frames are decoded
 * on access into Float32Array HWC in [0, 1].
 */
import type {Formats} from './formats'
import type {SampleType} from './config'

export interface VqaSample {
  index: number
  sampleType: SampleType
  task: string
  question: string
  answer: string
  /** frames of trajectory A, each height × width × 3, in [0, 1] */
  framesA: Float32Array[]
  /** frames of trajectory B (empty for progress samples) */
  framesB: Float32Array[]
  width: number
  height: number
  progressA: number
  /** -1 when the sample has no trajectory B */
  progressB: number
  preferred: '' | 'A' | 'B'
  source: string
}

export interface VqaDataset {
  dir: string
  size: number
  /** sample i (0 ≤ i < size), frames decoded */
  get(i: number): VqaSample
  /** the raw row (PNG bytes), for callers that only need the text columns */
  row(i: number): Record<string, unknown>
}

type ImageCell = {bytes: Uint8Array | null; path: string | null}

export async function openVqaDataset(dir: string, formats: Formats): Promise<VqaDataset> {
  const dataset = await formats.readHfDataset(dir)
  for (const column of ['sample_type', 'question', 'answer', 'frames_a', 'frames_b']) {
    if (!dataset.columns.includes(column)) throw new Error(`${dir}: not a VQA dataset of rfm (no column '${column}'); generate one with \`rfm sft dataset generate\`.`)
  }
  const rows: Record<string, unknown>[] = []
  for await (const row of dataset.rows()) rows.push(row)
  const decode = (cells: unknown, i: number, column: string): {frames: Float32Array[]; width: number; height: number} => {
    let width = 0
    let height = 0
    const frames = ((cells as ImageCell[] | null) ?? []).map((cell, k) => {
      if (!cell?.bytes) throw new Error(`${dir}: row ${i} ${column}[${k}] holds no image bytes.`)
      const image = formats.decodeImage(cell.bytes, `${dir} row ${i} ${column}[${k}]`)
      width = image.width
      height = image.height
      return formats.imageToFloat(image)
    })
    return {frames, width, height}
  }
  return {
    dir,
    size: rows.length,
    row: (i) => rows[i],
    get(i) {
      const row = rows[i]
      if (!row) throw new RangeError(`sample ${i} is outside the dataset (size ${rows.length}).`)
      const a = decode(row.frames_a, i, 'frames_a')
      const b = decode(row.frames_b, i, 'frames_b')
      return {
        index: Number(row.index ?? i),
        sampleType: row.sample_type as SampleType,
        task: String(row.task ?? ''),
        question: String(row.question),
        answer: String(row.answer),
        framesA: a.frames,
        framesB: b.frames,
        width: a.width,
        height: a.height,
        progressA: Number(row.progress_a ?? -1),
        progressB: Number(row.progress_b ?? -1),
        preferred: (row.preferred ?? '') as '' | 'A' | 'B',
        source: String(row.source ?? ''),
      }
    },
  }
}

export interface VqaSummary {
  dir: string
  num_rows: number
  counts: Record<string, number>
  samples: {
    index: number
    sample_type: string
    task: string
    question: string
    answer: string
    frames_a: number
    frames_b: number
    progress_a: number
    progress_b: number
    preferred: string
    source: string
  }[]
}

/** Row counts by sample type, and rows start..start+limit-1 without their pixels. */
export async function summarizeVqaDataset(dir: string, formats: Formats, options: {start?: number; limit?: number} = {}): Promise<VqaSummary> {
  const dataset = await openVqaDataset(dir, formats)
  const counts: Record<string, number> = {}
  for (let i = 0; i < dataset.size; i++) {
    const type = String(dataset.row(i).sample_type)
    counts[type] = (counts[type] ?? 0) + 1
  }
  const start = options.start ?? 0
  const end = Math.min(dataset.size, start + (options.limit ?? 3))
  const samples: VqaSummary['samples'] = []
  for (let i = start; i < end; i++) {
    const row = dataset.row(i)
    samples.push({
      index: Number(row.index ?? i),
      sample_type: String(row.sample_type),
      task: String(row.task ?? ''),
      question: String(row.question),
      answer: String(row.answer),
      frames_a: ((row.frames_a as unknown[] | null) ?? []).length,
      frames_b: ((row.frames_b as unknown[] | null) ?? []).length,
      progress_a: Number(row.progress_a ?? -1),
      progress_b: Number(row.progress_b ?? -1),
      preferred: String(row.preferred ?? ''),
      source: String(row.source ?? ''),
    })
  }
  return {dir, num_rows: dataset.size, counts, samples}
}
