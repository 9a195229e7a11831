/**
 * The part of rfm's core formats module (`api.loadFormats()`) that dataset generation uses. Declared
 * structurally so the library can also be handed the module by tests and worker threads.
 */
export type NpyDtype = 'f4' | 'f8' | 'i1' | 'u1' | 'i2' | 'u2' | 'i4' | 'u4' | 'i8' | 'u8' | 'b1' | 'U'
export interface NdArray {
  dtype: NpyDtype
  shape: number[]
  data: Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | string[]
}
export interface RgbImage {
  width: number
  height: number
  data: Uint8Array
}
export interface Formats {
  readNpz(file: string): Promise<Record<string, NdArray>>
  writeNpz(file: string, arrays: Record<string, NdArray>, options?: {compress?: boolean}): Promise<void>
  toFloat32(array: NdArray): Float32Array
  decodeImage(bytes: Uint8Array, source?: string): RgbImage
  encodePng(image: RgbImage): Uint8Array
  resizeImage(image: RgbImage, width: number, height: number): RgbImage
  imageToFloat(image: RgbImage): Float32Array
  readHfDataset(dir: string, options?: {split?: string}): Promise<{dir: string; numRows: number; features: Record<string, unknown>; columns: string[]; rows(): AsyncGenerator<Record<string, unknown>>}>
  writeHfDataset(dir: string, rows: Iterable<Record<string, unknown>> | AsyncIterable<Record<string, unknown>>, features: Record<string, unknown>, options?: {shardRows?: number}): Promise<{numRows: number; shards: number}>
}
