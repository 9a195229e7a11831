import {createHash, randomBytes} from 'node:crypto'
import {promises as fs, statSync} from 'node:fs'
import * as path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {fdio} from './fdio'
import {checkKey} from './keys'
import {checkStable, fsyncFile} from './transfer'
import type {ListResult, ObjectInfo, ObjectStore, PutFileOptions, PutOptions, Transferred} from './types'

const TMP_MARK = '.rfm-tmp-'
/** Temp names: this process's id and random tag (other hosts may share the folder), then a counter. */
const PROCESS_TAG = `${process.pid}-${randomBytes(4).toString('hex')}`
let tmpCount = 0
const tmpName = () => `${TMP_MARK}${PROCESS_TAG}-${++tmpCount}`

/** An object store in a local directory. Writes go to a temp file and are renamed into place. */
export class FileStore implements ObjectStore {
  readonly url: string
  readonly root: string
  /** O_APPEND writes of one small buffer land whole, whatever the number of writers. */
  readonly atomicAppend = true

  constructor(rootOrUrl: string) {
    this.root = rootOrUrl.startsWith('file:') ? fileURLToPath(rootOrUrl) : path.resolve(rootOrUrl)
    this.url = pathToFileURL(this.root).href
  }

  /** The file behind a key (for tools that need a real path, such as a detached process's log). */
  pathOf(key: string): string {
    return path.join(this.root, ...checkKey(key).split('/'))
  }

  async get(key: string): Promise<Buffer | undefined> {
    return ignoreMissing(fs.readFile(this.pathOf(key)))
  }

  async getFrom(key: string, start: number): Promise<Buffer | undefined> {
    const handle = await ignoreMissing(fs.open(this.pathOf(key), 'r'))
    if (!handle) return undefined
    try {
      const {size} = await handle.stat()
      const length = Math.max(0, size - start)
      const buffer = Buffer.alloc(length)
      const {bytesRead} = await handle.read(buffer, 0, length, start)
      return buffer.subarray(0, bytesRead)
    } finally {
      await handle.close()
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    // A local stat takes microseconds, less than the thread-pool round trip of an async one (and a
    // missing key throws no error): staging heads every object of a tree, twice.
    const stat = statSync(this.pathOf(key), {throwIfNoEntry: false})
    return stat?.isFile() ? {key, size: stat.size, modified: stat.mtime} : undefined
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<void> {
    const file = this.pathOf(key)
    const tmp = path.join(path.dirname(file), tmpName())
    try {
      // fsync before the rename: a checkpoint's manifest must never reach the disk before its files.
      // A plain descriptor, not a FileHandle: staging writes thousands of small objects, and the
      // FileHandle's bookkeeping cost ~15 % of a small write's time (bench/staging.ts).
      const fd = await openCreating(tmp)
      try {
        await writeAll(fd, typeof body === 'string' ? Buffer.from(body) : body)
        if (options.durable !== false) await fdio.fsync(fd)
      } finally {
        await fdio.close(fd)
      }
      await fs.rename(tmp, file)
    } catch (error) {
      await fs.rm(tmp, {force: true})
      throw error
    }
  }

  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    const file = this.pathOf(key)
    await fs.mkdir(path.dirname(file), {recursive: true})
    const tmp = path.join(path.dirname(file), tmpName())
    try {
      const handle = await fs.open(tmp, 'w')
      try {
        await handle.writeFile(body)
        await handle.sync()
      } finally {
        await handle.close()
      }
      // link(2) fails with EEXIST when the name is taken: an atomic create-if-absent.
      await fs.link(tmp, file)
      return true
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw error
    } finally {
      await fs.rm(tmp, {force: true})
    }
  }

  /**
   * Copies the file in (copy_file_range or a reflink where the disk offers one), fsyncs it, then
   * renames it into place: run outputs and staged data must not be renamed in before their bytes
   * are on disk.
   */
  async putFile(key: string, source: string, options: PutFileOptions = {}): Promise<void> {
    const file = this.pathOf(key)
    await fs.mkdir(path.dirname(file), {recursive: true})
    const tmp = path.join(path.dirname(file), tmpName())
    try {
      await fs.copyFile(source, tmp)
      await fsyncFile(tmp)
      await fs.rename(tmp, file)
    } catch (error) {
      await fs.rm(tmp, {force: true})
      throw error
    }
    options.onProgress?.((await fs.stat(file)).size)
  }

  /**
   * Copies, hashes and checks stability in one read of the source (no second pass for the hash), into
   * a temp file that is fsynced and renamed into place; memory stays at one 1 MiB chunk in flight.
   */
  async uploadFile(key: string, source: string, options: PutFileOptions = {}): Promise<Transferred> {
    const file = this.pathOf(key)
    await fs.mkdir(path.dirname(file), {recursive: true})
    const tmp = path.join(path.dirname(file), tmpName())
    const before = await fs.stat(source)
    try {
      const result = await copyHashing(source, tmp, true, options.onProgress)
      await checkStable(source, before, result.size)
      await fs.rename(tmp, file)
      return result
    } catch (error) {
      await fs.rm(tmp, {force: true})
      throw error
    }
  }

  /**
   * Copies and hashes in one read into a temp file at the store's root, then renames it to the key
   * its sha256 names (replacing an existing object of that key, which holds the same bytes).
   */
  async ingestFile(source: string, keyOf: (sha256: string) => string, options: PutFileOptions & PutOptions = {}): Promise<Transferred> {
    await fs.mkdir(this.root, {recursive: true})
    const tmp = path.join(this.root, tmpName())
    const before = await fs.stat(source)
    try {
      const result = await copyHashing(source, tmp, options.durable !== false, options.onProgress)
      await checkStable(source, before, result.size)
      const file = this.pathOf(keyOf(result.sha256))
      await fs.mkdir(path.dirname(file), {recursive: true})
      await fs.rename(tmp, file)
      return result
    } catch (error) {
      await fs.rm(tmp, {force: true})
      throw error
    }
  }

  /**
   * Temp files of writes killed before their rename (`.rfm-tmp-*`, `*.rfm-part-*`), older than
   * `olderThanMs` (a write in progress has a fresh one): found by `rfm data gc`.
   */
  async removeStaleTempFiles(olderThanMs: number, dryRun = false): Promise<{files: number; bytes: number}> {
    const cutoff = Date.now() - olderThanMs
    const found = {files: 0, bytes: 0}
    const walk = async (dir: string): Promise<void> => {
      for (const entry of (await ignoreMissing(fs.readdir(dir, {withFileTypes: true}))) ?? []) {
        const full = path.join(dir, entry.name)
        if (entry.isDirectory()) await walk(full)
        else if (entry.name.startsWith(TMP_MARK) || entry.name.includes('.rfm-part-')) {
          const stat = await ignoreMissing(fs.stat(full))
          if (!stat || stat.mtimeMs > cutoff) continue
          found.files++
          found.bytes += stat.size
          if (!dryRun) await fs.rm(full, {force: true})
        }
      }
    }
    await walk(this.root)
    return found
  }

  async getStream(key: string): Promise<NodeJS.ReadableStream | undefined> {
    const handle = await ignoreMissing(fs.open(this.pathOf(key), 'r'))
    // autoClose (the default) closes the handle at the end of the stream or on an error.
    return handle?.createReadStream({highWaterMark: 1 << 20})
  }

  async append(key: string, body: Uint8Array | string): Promise<void> {
    const file = this.pathOf(key)
    await fs.mkdir(path.dirname(file), {recursive: true})
    await fs.appendFile(file, body)
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.pathOf(key), {force: true})
  }

  async list(prefix: string, options: {delimited?: boolean} = {}): Promise<ListResult> {
    // The prefix may end inside a name ("runs/sft-"), so list its folder and filter.
    const cut = prefix.lastIndexOf('/') + 1
    const folder = prefix.slice(0, cut)
    const result: ListResult = {objects: [], prefixes: []}
    const walk = async (relFolder: string, recurse: boolean): Promise<void> => {
      const dir = relFolder ? this.pathOf(relFolder.replace(/\/$/, '')) : this.root
      const entries = await ignoreMissing(fs.readdir(dir, {withFileTypes: true}))
      // stat calls in parallel (the thread pool overlaps them): a pool of many objects lists fast
      await Promise.all(
        (entries ?? []).map(async (entry) => {
          if (entry.name.startsWith(TMP_MARK)) return
          const key = relFolder + entry.name
          if (!key.startsWith(prefix) && !prefix.startsWith(key + '/')) return
          if (entry.isDirectory()) {
            if (recurse) await walk(key + '/', true)
            else if (key.startsWith(prefix)) result.prefixes.push(key + '/')
          } else if (entry.isFile() && key.startsWith(prefix)) {
            const stat = await ignoreMissing(fs.stat(path.join(dir, entry.name)))
            if (stat) result.objects.push({key, size: stat.size, modified: stat.mtime})
          }
        }),
      )
    }
    if (folder) checkKey(folder)
    await walk(folder, !options.delimited)
    result.objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    result.prefixes.sort()
    return result
  }
}

/** Opens a new file for writing, making its folder only when it is missing (one syscall in the usual case). */
async function openCreating(file: string): Promise<number> {
  try {
    return await fdio.open(file, 'w')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    await fs.mkdir(path.dirname(file), {recursive: true})
    return fdio.open(file, 'w')
  }
}

/**
 * Copies `source` to a new file `target` and hashes it in the same read: one 1 MiB buffer, reused
 * (no stream machinery, no allocation per chunk), then fsync when `durable`.
 */
async function copyHashing(source: string, target: string, durable: boolean, onProgress?: (bytes: number) => void): Promise<Transferred> {
  const hash = createHash('sha256')
  const buffer = Buffer.allocUnsafe(1024 * 1024)
  let size = 0
  const from = await fdio.open(source, 'r')
  try {
    const to = await fdio.open(target, 'w')
    try {
      for (;;) {
        const n = await fdio.read(from, buffer, 0, buffer.length, size)
        if (n === 0) break
        const chunk = buffer.subarray(0, n)
        hash.update(chunk)
        await writeAll(to, chunk)
        size += n
        onProgress?.(n)
      }
      if (durable) await fdio.fsync(to)
    } finally {
      await fdio.close(to)
    }
  } finally {
    await fdio.close(from)
  }
  return {size, sha256: hash.digest('hex')}
}

async function writeAll(fd: number, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await fdio.write(fd, bytes, done, bytes.length - done)
}

async function ignoreMissing<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}
