/**
 * Robot-reward VQA samples from a dataset written by `rfm sft dataset generate` (read with the
 * dataset module's openVqaDataset): frames resized to the model's image size; DPO's rejected answer
 * is the wrong letter (preference), a progress ≥ 0.3 away (progress), the other of yes/no.
 */
import {wrongProgress} from './text'
import type {ItemSource, VqaItem} from './types'

/** The parts of openVqaDataset's result the trainer reads. */
export interface VqaDatasetLike {
  size: number
  get(i: number): {sampleType: string; question: string; answer: string; framesA: Float32Array[]; framesB: Float32Array[]; width: number; height: number}
  row(i: number): Record<string, unknown>
}

export interface ImageOps {
  resize(frame: Float32Array, width: number, height: number, size: number): Float32Array
}

export function rejectedAnswer(type: string, answer: string): string {
  const a = answer.trim()
  if (type === 'preference' || a === 'A' || a === 'B') return a === 'A' ? 'B' : 'A'
  if (type === 'progress') return wrongProgress(a)
  if (a === 'yes' || a === 'no') return a === 'yes' ? 'no' : 'yes'
  return 'unknown'
}

export function robotSource(dataset: VqaDatasetLike, imageSize: number, images: ImageOps, limit?: number): ItemSource {
  const size = Math.min(dataset.size, limit ?? Infinity)
  const items = new Map<number, VqaItem>()
  return {
    size,
    get(index: number): VqaItem {
      let item = items.get(index)
      if (!item) {
        const s = dataset.get(index)
        const fit = (f: Float32Array) => (s.width === imageSize && s.height === imageSize ? f : images.resize(f, s.width, s.height, imageSize))
        item = {type: s.sampleType, framesA: s.framesA.map(fit), framesB: s.framesB.map(fit), question: s.question, answer: s.answer, rejected: rejectedAnswer(s.sampleType, s.answer)}
        items.set(index, item)
      }
      return item
    },
    texts(): string[] {
      const out: string[] = []
      for (let i = 0; i < size; i++) {
        const row = dataset.row(i)
        out.push(String(row.question), String(row.answer), rejectedAnswer(String(row.sample_type), String(row.answer)))
      }
      return out
    },
  }
}
