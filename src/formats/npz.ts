import {readFile} from 'node:fs/promises'

import {FormatError} from './errors'
import {atomicWriteFile} from './atomic'
import {encodeNpy, NdArray, parseNpy} from './npy'
import {readZipEntries, writeZip} from './zip'

/** Reads a numpy .npz archive (numpy.savez or savez_compressed); keys are the array names without `.npy`. */
export async function readNpz(file: string): Promise<Record<string, NdArray>> {
  let bytes: Buffer
  try {
    bytes = await readFile(file)
  } catch (error) {
    throw new FormatError(file, `cannot read: ${(error as Error).message}`)
  }
  const arrays: Record<string, NdArray> = {}
  for (const [name, data] of readZipEntries(bytes, file)) {
    if (!name.endsWith('.npy')) continue
    arrays[name.slice(0, -4)] = parseNpy(data, `${file}:${name}`)
  }
  return arrays
}

/** Writes arrays as an .npz archive that numpy.load reads; atomic (a crash leaves the old file or none). */
export async function writeNpz(file: string, arrays: Record<string, NdArray>, options: {compress?: boolean} = {}): Promise<void> {
  const entries = new Map(Object.entries(arrays).map(([key, array]) => [`${key}.npy`, encodeNpy(array)]))
  await atomicWriteFile(file, writeZip(entries, options.compress ?? false))
}
