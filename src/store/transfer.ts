import {createHash} from 'node:crypto'
import {createWriteStream, promises as fs, type Stats} from 'node:fs'
import * as path from 'node:path'
import {Readable, Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import type {ObjectStore, PutFileOptions, Transferred} from './types'

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

/** A file that changed while it was being read: its bytes may be torn, so they are not committed. */
export class UnstableFileError extends Error {
  constructor(
    readonly file: string,
    why: string,
  ) {
    super(`${file} changed while it was read (${why}); it is read again once stable`)
    this.name = 'UnstableFileError'
  }
}

/** The identity of a file's content as far as stat can tell: size and modification time. */
export function fileSignature(stat: Stats): string {
  return `${stat.size}:${stat.mtimeMs}`
}

/** Throws UnstableFileError unless `file` is as it was before the read and `read` bytes came. */
export async function checkStable(file: string, before: Stats, read: number): Promise<void> {
  const after = await fs.stat(file).catch(() => undefined)
  if (!after) throw new UnstableFileError(file, 'it was removed')
  if (read !== before.size) throw new UnstableFileError(file, `${read} bytes read of ${before.size}`)
  if (fileSignature(after) !== fileSignature(before)) throw new UnstableFileError(file, 'its size or mtime changed')
}

/** A pass-through stream that hashes and counts what flows through it. */
export function hashingStream(onProgress?: (bytes: number) => void): Transform & {digest(): Transferred} {
  const hash = createHash('sha256')
  let size = 0
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk)
      size += chunk.length
      onProgress?.(chunk.length)
      callback(null, chunk)
    },
  }) as Transform & {digest(): Transferred}
  stream.digest = () => ({size, sha256: hash.digest('hex')})
  return stream
}

/**
 * Uploads `file` and returns its size and sha256, read once, in bounded memory. Stores without a
 * streaming upload get the bytes in one buffer (test doubles only: both real stores stream).
 */
export async function uploadFile(store: ObjectStore, key: string, file: string, options: PutFileOptions = {}): Promise<Transferred> {
  if (store.uploadFile) return store.uploadFile(key, file, options)
  const before = await fs.stat(file)
  const bytes = await fs.readFile(file)
  await checkStable(file, before, bytes.length)
  await store.put(key, bytes)
  options.onProgress?.(bytes.length)
  return {size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex')}
}

/** Downloads `key` into `file` via a temp name in the same folder, hashing as it streams. */
export async function downloadFile(store: ObjectStore, key: string, file: string, options: PutFileOptions = {}): Promise<Transferred | undefined> {
  if (store.downloadFile) return store.downloadFile(key, file, options)
  const source = await getStream(store, key)
  if (!source) return undefined
  return streamToFile(source, file, options)
}

/** Writes a stream to `file` (temp name, fsync, rename), returning its size and sha256. */
export async function streamToFile(source: NodeJS.ReadableStream, file: string, options: PutFileOptions = {}): Promise<Transferred> {
  await fs.mkdir(path.dirname(file), {recursive: true})
  const tmp = `${file}.rfm-part-${process.pid}`
  const hashing = hashingStream(options.onProgress)
  try {
    await pipeline(source, hashing, createWriteStream(tmp, {highWaterMark: 1 << 20}))
    await fsyncFile(tmp)
    await fs.rename(tmp, file)
    return hashing.digest()
  } catch (error) {
    await fs.rm(tmp, {force: true})
    throw error
  }
}

/**
 * fsync through a fresh handle (a FileHandle's own write stream holds a reference that makes
 * close() wait forever unless the stream closes it, so streams here are path-based).
 */
export async function fsyncFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r+')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
