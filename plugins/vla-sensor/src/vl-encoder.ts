/**
 * The frozen vision-language encoder whose features the VL cache holds: one feature token per camera
 * view and one for the instruction. It stands in for the pipeline's frozen Qwen2.5-VL (nothing can
 * be downloaded here): a fixed, seeded random-feature encoder — each view box-filtered to a
 * grid × grid RGB thumbnail, each instruction a hashed bag of words, both projected by fixed
 * Gaussian matrices and squashed by tanh. Deterministic in (seed, feature_dim, grid), so a cache is
 * valid exactly when that identity and the data's key match.
 */
import {createHash} from 'node:crypto'

import type {VlaDataset} from './sessions'
import type {RngClass as RngCtor} from '@rfm/plugin-api'

export interface EncoderSpec {
  kind: 'random-features-v1'
  seed: number
  featureDim: number
  grid: number
}

const WORD_BUCKETS = 64

export class FrozenVlEncoder {
  private readonly imageProj: Float32Array
  private readonly textProj: Float32Array

  constructor(
    RngClass: RngCtor,
    readonly spec: EncoderSpec,
  ) {
    const r = RngClass.derive(spec.seed, 0x0e1c)
    const inImg = spec.grid * spec.grid * 3
    this.imageProj = Float32Array.from({length: inImg * spec.featureDim}, () => (r.normal() * 2) / Math.sqrt(inImg))
    this.textProj = Float32Array.from({length: WORD_BUCKETS * spec.featureDim}, () => r.normal() / Math.sqrt(4))
  }

  encodeImage(img: {width: number; height: number; data: Float32Array}): Float32Array {
    const g = this.spec.grid
    const thumb = new Float32Array(g * g * 3)
    const counts = new Float32Array(g * g)
    for (let y = 0; y < img.height; y++) {
      const gy = Math.min(g - 1, Math.floor((y * g) / img.height))
      for (let x = 0; x < img.width; x++) {
        const gx = Math.min(g - 1, Math.floor((x * g) / img.width))
        const cell = gy * g + gx
        counts[cell] += 1
        for (let ch = 0; ch < 3; ch++) thumb[cell * 3 + ch] += img.data[(y * img.width + x) * 3 + ch]
      }
    }
    for (let i = 0; i < thumb.length; i++) thumb[i] = thumb[i] / Math.max(1, counts[Math.floor(i / 3)]) - 0.5
    return this.project(thumb, this.imageProj)
  }

  encodeText(text: string): Float32Array {
    const bag = new Float32Array(WORD_BUCKETS)
    for (const word of text
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter(Boolean)) {
      const h = createHash('sha256').update(word).digest()
      bag[h.readUInt32LE(0) % WORD_BUCKETS] += 1
    }
    return this.project(bag, this.textProj)
  }

  private project(x: Float32Array, w: Float32Array): Float32Array {
    const f = this.spec.featureDim
    const out = new Float32Array(f)
    for (let i = 0; i < x.length; i++) {
      const xi = x[i]
      if (xi === 0) continue
      for (let j = 0; j < f; j++) out[j] += xi * w[i * f + j]
    }
    for (let j = 0; j < f; j++) out[j] = Math.tanh(out[j])
    return out
  }

  /** [N, views+1, F] for every sample of the dataset */
  encodeAll(data: VlaDataset, onProgress?: (done: number) => void): Float32Array {
    const f = this.spec.featureDim
    const per = (data.views + 1) * f
    const out = new Float32Array(data.samples.length * per)
    const textCache = new Map<string, Float32Array>()
    data.samples.forEach((s, i) => {
      data.images(i).forEach((img, v) => out.set(this.encodeImage(img), i * per + v * f))
      let t = textCache.get(s.instruction)
      if (!t) textCache.set(s.instruction, (t = this.encodeText(s.instruction)))
      out.set(t, i * per + data.views * f)
      if (onProgress && (i + 1) % 500 === 0) onProgress(i + 1)
    })
    return out
  }
}

/** The cache key: the data's identity and the encoder's. */
export function cacheKey(data: VlaDataset, spec: EncoderSpec): string {
  return createHash('sha256')
    .update(JSON.stringify({data: data.key, encoder: spec}))
    .digest('hex')
    .slice(0, 32)
}
