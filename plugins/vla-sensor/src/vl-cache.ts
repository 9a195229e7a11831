/**
 * The VL feature cache on disk: `vl_features.npy` (float32 [samples, views+1, feature_dim]) and
 * `cache.json` (key, encoder, sample ids). Built once by `rfm vla-sensor cache`; at launch the
 * folder is staged into the store content-addressed (an unchanged cache uploads nothing) and every
 * run that names it pulls the same verified copy.
 */
import {existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'

import type {Formats} from './formats'
import type {VlaDataset} from './sessions'
import {cacheKey, EncoderSpec, FrozenVlEncoder} from './vl-encoder'
import type {RngClass as RngCtor} from '@rfm/plugin-api'

export const FEATURES_FILE = 'vl_features.npy'
export const INDEX_FILE = 'cache.json'

export interface CacheIndex {
  key: string
  encoder: EncoderSpec
  views: number
  feature_dim: number
  samples: number
  sensor_samples: number
  sample_ids: string[]
}

export function buildFeatures(RngClass: RngCtor, data: VlaDataset, spec: EncoderSpec, onProgress?: (done: number) => void): Float32Array {
  return new FrozenVlEncoder(RngClass, spec).encodeAll(data, onProgress)
}

/** Writes the cache folder atomically (temporary folder, then rename). */
export function writeCache(formats: Formats, dir: string, data: VlaDataset, spec: EncoderSpec, features: Float32Array): CacheIndex {
  const index: CacheIndex = {
    key: cacheKey(data, spec),
    encoder: spec,
    views: data.views,
    feature_dim: spec.featureDim,
    samples: data.samples.length,
    sensor_samples: data.samples.filter((s) => s.hasSensor).length,
    sample_ids: data.samples.map((s) => s.id),
  }
  const tmp = `${dir}.tmp-${process.pid}`
  rmSync(tmp, {recursive: true, force: true})
  mkdirSync(tmp, {recursive: true})
  writeFileSync(path.join(tmp, FEATURES_FILE), formats.encodeNpy({dtype: 'f4', shape: [data.samples.length, data.views + 1, spec.featureDim], data: features}))
  writeFileSync(path.join(tmp, INDEX_FILE), JSON.stringify(index, null, 1) + '\n')
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(path.dirname(dir), {recursive: true})
  renameSync(tmp, dir)
  return index
}

/** Reads a cache built for exactly this data and encoder; throws a message naming the mismatch otherwise. */
export function readCache(formats: Formats, dir: string, data: VlaDataset, spec: EncoderSpec): Float32Array {
  const indexFile = path.join(dir, INDEX_FILE)
  if (!existsSync(indexFile)) throw new Error(`${dir} is not a VL feature cache (no ${INDEX_FILE}); build one with \`rfm vla-sensor cache\``)
  const index = JSON.parse(readFileSync(indexFile, 'utf8')) as CacheIndex
  const key = cacheKey(data, spec)
  if (index.key !== key) throw new Error(`VL cache ${dir} was built for other data or another encoder (key ${index.key}, this config needs ${key}); rebuild it with \`rfm vla-sensor cache\``)
  const arr = formats.parseNpy(readFileSync(path.join(dir, FEATURES_FILE)), path.join(dir, FEATURES_FILE))
  const want = [data.samples.length, data.views + 1, spec.featureDim]
  if (arr.shape.join(',') !== want.join(',')) throw new Error(`VL cache ${dir}: features have shape [${arr.shape}], expected [${want}]`)
  return formats.toFloat32(arr)
}
