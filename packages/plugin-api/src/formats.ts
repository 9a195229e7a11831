/**
 * The host's data formats module as plugins see it (`api.loadFormats()`): numpy .npy/.npz, PNG/JPEG,
 * Hugging Face `save_to_disk` datasets, JSON lines. The host's src/formats satisfies it (src/plugin-api/conformance.ts checks).
 */
import type {RfmError} from './errors'

export type NpyDtype = 'f4' | 'f8' | 'i1' | 'u1' | 'i2' | 'u2' | 'i4' | 'u4' | 'i8' | 'u8' | 'b1' | 'U'
export type NdData = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | string[]
export interface NdArray {
  dtype: NpyDtype
  shape: number[]
  data: NdData
}

export interface RgbImage {
  width: number
  height: number
  data: Uint8Array
}

export type HfFeature =
  {_type: 'Value'; dtype: string} | {_type: 'Image'} | {_type: 'ClassLabel'; names: string[]} | {_type: 'Sequence' | 'List'; feature: HfFeature; length?: number} | {[field: string]: HfFeature}
export type HfFeatures = Record<string, HfFeature>

export interface HfDataset {
  dir: string
  numRows: number
  features: HfFeatures
  columns: string[]
  rows(): AsyncGenerator<Record<string, unknown>>
}

/** A data file that does not parse: names the file (source), and the row and field when known. */
export interface FormatError extends RfmError {
  readonly source: string
  readonly row?: number
  readonly field?: string
}

export interface FormatsCore {
  FormatError: new (source: string, message: string, options?: {row?: number; field?: string; hint?: string; cause?: unknown}) => FormatError
  parseNpy(bytes: Uint8Array, source?: string): NdArray
  encodeNpy(array: NdArray): Uint8Array
  toFloat32(array: NdArray): Float32Array
  readNpz(file: string): Promise<Record<string, NdArray>>
  writeNpz(file: string, arrays: Record<string, NdArray>, options?: {compress?: boolean}): Promise<void>
  decodeImage(bytes: Uint8Array, source?: string): RgbImage
  encodePng(image: RgbImage): Uint8Array
  resizeImage(image: RgbImage, width: number, height: number): RgbImage
  fitPixels(image: RgbImage, bounds: {minPixels?: number; maxPixels?: number}): RgbImage
  /** HWC floats in [0, 1] */
  imageToFloat(image: RgbImage): Float32Array
  floatToImage(data: Float32Array, width: number, height: number): RgbImage
  readHfDataset(dir: string, options?: {split?: string}): Promise<HfDataset>
  writeHfDataset(
    dir: string,
    rows: Iterable<Record<string, unknown>> | AsyncIterable<Record<string, unknown>>,
    features: HfFeatures,
    options?: {shardRows?: number},
  ): Promise<{numRows: number; shards: number}>
  writeHfDatasetDict(dir: string, splits: Record<string, Iterable<Record<string, unknown>>>, features: HfFeatures, options?: {shardRows?: number}): Promise<void>
  readJsonl(file: string): AsyncGenerator<{line: number; record: unknown}>
  atomicWriteFile(file: string, bytes: Uint8Array): Promise<void>
  /** A path taken from a record, resolved against baseDir; a UsageError when it leaves root. */
  resolveInside(root: string, baseDir: string, given: string): string
}
