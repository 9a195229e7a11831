/** The core formats module (numpy, images), reached through the plugin API. */
import type {PluginApi} from 'rfm/plugin-api'

// STAND-IN until the core's formats land on main (CORE-API.md §1): the signatures this plugin uses.
interface NdArray {
  dtype: string
  shape: number[]
  data: ArrayLike<number> | ArrayLike<bigint> | string[]
}
export interface Formats {
  FormatError: new (message: string, source: string) => Error
  parseNpy(bytes: Uint8Array, source?: string): NdArray
  encodeNpy(array: {dtype: 'f4'; shape: number[]; data: Float32Array}): Uint8Array
  readNpz(file: string): Promise<Record<string, NdArray>>
  toFloat32(array: NdArray): Float32Array
  decodeImage(bytes: Uint8Array, source?: string): {width: number; height: number; data: Uint8Array}
  encodePng(image: {width: number; height: number; data: Uint8Array}): Uint8Array
  imageToFloat(image: {width: number; height: number; data: Uint8Array}): Float32Array
  floatToImage(data: Float32Array, width: number, height: number): {width: number; height: number; data: Uint8Array}
}

export function loadFormats(api: PluginApi): Promise<Formats> {
  return (api as unknown as {loadFormats(): Promise<Formats>}).loadFormats()
}
