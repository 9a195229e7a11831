import {promises as fs} from 'node:fs'
import {Readable} from 'node:stream'

import type {ObjectStore, PutFileOptions} from './types'

/** Uploads a local file through the store's streaming path, or via `put` for stores without one. */
export async function putFile(store: ObjectStore, key: string, file: string, options: PutFileOptions = {}): Promise<void> {
  if (store.putFile) return store.putFile(key, file, options)
  const bytes = await fs.readFile(file)
  await store.put(key, bytes)
  options.onProgress?.(bytes.length)
}

/** The object as a stream (or undefined when missing), for stores with or without `getStream`. */
export async function getStream(store: ObjectStore, key: string): Promise<Readable | undefined> {
  if (store.getStream) {
    const stream = await store.getStream(key)
    return stream ? (stream instanceof Readable ? stream : Readable.from(stream as AsyncIterable<Buffer>)) : undefined
  }
  const bytes = await store.get(key)
  return bytes ? Readable.from([bytes]) : undefined
}
