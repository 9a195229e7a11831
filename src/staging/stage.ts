/**
 * `rfm data stage`: a local tree → content-addressed objects + a manifest (layout in ./layout.ts).
 * Order of work: walk and hash (reusing cached hashes), find which objects the store already has
 * (one listing of the object pool for large trees, HEADs for small ones), upload only the missing
 * ones with bounded concurrency, then write the manifest and name entry LAST. A run killed at any
 * point leaves only complete objects behind; running it again uploads just what is still missing.
 */
import {createHash} from 'node:crypto'
import {createReadStream, promises as fs} from 'node:fs'
import * as os from 'node:os'

import {UsageError} from '../errors'
import {putFile} from '../store/transfer'
import type {ObjectStore} from '../store/types'
import {forEachLimit, Semaphore, withRetry, type RetryOptions} from './concurrency'
import {HashCache} from './hash-cache'
import {formatRef, hashOfObjectKey, checkName, manifestKey, nameKey, nameFromPath, objectKey, OBJECTS_PREFIX} from './layout'
import {manifestBytes, sha256, type Manifest} from './manifest'
import {Progress, type ProgressMode} from './progress'
import {stampOf, walkTree, type LocalFile} from './walk'

export interface StageOptions {
  name?: string
  /** parallel transfers (default: 16 for S3, 4 for a file store) */
  concurrency?: number
  progress?: ProgressMode
  /** reuse hashes of unchanged files from $RFM_HOME/cache (default true) */
  hashCache?: boolean
  retry?: RetryOptions
  /** files at or below this count are checked with HEAD requests instead of listing the pool */
  headCheckMax?: number
}

export interface NameEntry {
  name: string
  hash: string
  ref: string
  stagedAt: string
  files: number
  bytes: number
  source: string
  host: string
}

export interface StageResult extends NameEntry {
  links: number
  uploadedFiles: number
  uploadedBytes: number
  /** files whose content the store already had */
  skippedFiles: number
  seconds: number
}

/** Files above this size take a slot of the large-file semaphore (multipart uploads buffer parts). */
const LARGE = 16 * 1024 * 1024

export async function stageTree(store: ObjectStore, source: string, options: StageOptions = {}): Promise<StageResult> {
  const started = Date.now()
  const name = checkName(options.name ?? nameFromPath(source))
  const mode = options.progress ?? 'silent'
  const tree = await walkTree(source)
  const concurrency = options.concurrency ?? (store.url.startsWith('s3:') ? 16 : 4)

  const listing = tree.files.length > (options.headCheckMax ?? 64) ? listPool(store) : undefined
  listing?.catch(() => undefined) // awaited below; avoid an unhandled rejection while hashing
  const hashes = await hashFiles(tree.base, tree.files, mode, options.hashCache ?? true)

  // One upload per distinct content, even when many files share it.
  const unique = new Map<string, LocalFile>()
  tree.files.forEach((file, i) => unique.has(hashes[i]) || unique.set(hashes[i], file))
  const present = listing ? await listing : await headPool(store, [...unique.keys()], concurrency)
  const missing = [...unique].filter(([hash, file]) => present.get(hash) !== file.size)

  const totalBytes = missing.reduce((sum, [, f]) => sum + f.size, 0)
  const progress = new Progress({label: 'Uploading', totalBytes, totalFiles: missing.length, mode})
  const large = new Semaphore(2)
  try {
    await forEachLimit(missing, concurrency, async ([hash, file]) => {
      const upload = () =>
        withRetry(async () => {
          let sent = 0
          try {
            await putFile(store, objectKey(hash), file.abs, {onProgress: (n) => ((sent += n), progress.addBytes(n))})
            await checkUnchanged(store, file, hash)
          } catch (error) {
            progress.addBytes(-sent) // this file starts again from zero
            throw error
          }
        }, options.retry)
      await (file.size > LARGE ? large.use(upload) : upload())
      progress.fileDone()
    })
  } finally {
    progress.finish()
  }

  const manifest: Manifest = {
    schemaVersion: 1,
    type: 'rfm.dataset',
    root: tree.root,
    files: tree.files.map((f, i) => ({path: f.path, size: f.size, sha256: hashes[i], mode: f.mode})),
    links: tree.links,
  }
  const bytes = manifestBytes(manifest)
  const hash = sha256(bytes)
  const totalSize = tree.files.reduce((sum, f) => sum + f.size, 0)
  const entry: NameEntry = {
    name,
    hash,
    ref: formatRef(name, hash),
    stagedAt: new Date().toISOString(),
    files: tree.files.length,
    bytes: totalSize,
    source: tree.root === 'file' ? tree.files[0].abs : tree.base,
    host: os.hostname(),
  }
  await withRetry(async () => {
    if (!(await store.head(manifestKey(hash)))) await store.put(manifestKey(hash), bytes)
    await store.put(nameKey(name, hash), JSON.stringify(entry, null, 2) + '\n')
  }, options.retry)
  return {
    ...entry,
    links: tree.links.length,
    uploadedFiles: missing.length,
    uploadedBytes: totalBytes,
    skippedFiles: tree.files.length - missing.length,
    seconds: (Date.now() - started) / 1000,
  }
}

/** An object must hold the bytes its name promises: a file edited while staging is not stored. */
async function checkUnchanged(store: ObjectStore, file: LocalFile, hash: string): Promise<void> {
  const now = await fs.lstat(file.abs, {bigint: true}).catch(() => undefined)
  if (now && stampOf(now) === file.stamp) return
  await store.delete(objectKey(hash))
  throw new UsageError(`${file.abs} changed while it was being staged.`, {hint: 'Stage again once the files stop changing.'})
}

/** sha256 of each file, in order, reading only files the cache cannot vouch for. */
async function hashFiles(base: string, files: LocalFile[], mode: ProgressMode, useCache: boolean): Promise<string[]> {
  const cache = await HashCache.open(base, useCache)
  const hashes: string[] = new Array(files.length)
  const todo: number[] = []
  files.forEach((file, i) => {
    const known = cache.lookup(file.path, file.stamp, file.mtimeMs)
    if (known) hashes[i] = known
    else todo.push(i)
  })
  const totalBytes = todo.reduce((sum, i) => sum + files[i].size, 0)
  const progress = new Progress({label: 'Hashing', totalBytes, totalFiles: todo.length, mode: totalBytes > 64 * 1024 * 1024 ? mode : 'silent'})
  try {
    await forEachLimit(todo, 4, async (i) => {
      const hashedAt = Date.now()
      hashes[i] = await hashFile(files[i].abs, files[i].size, (n) => progress.addBytes(n))
      cache.record(files[i].path, files[i].stamp, hashes[i], hashedAt)
      progress.fileDone()
    })
  } finally {
    progress.finish()
  }
  await cache.save(files.map((f) => f.path)).catch(() => undefined) // a cache is never worth failing for
  return hashes
}

export async function hashFile(file: string, size: number, onBytes?: (n: number) => void): Promise<string> {
  const hash = createHash('sha256')
  if (size < 1024 * 1024) {
    const bytes = await fs.readFile(file)
    onBytes?.(bytes.length)
    return hash.update(bytes).digest('hex')
  }
  for await (const chunk of createReadStream(file, {highWaterMark: 1024 * 1024})) {
    hash.update(chunk as Buffer)
    onBytes?.((chunk as Buffer).length)
  }
  return hash.digest('hex')
}

/** hash → size of every object in the pool, from one (paged) listing. */
export async function listPool(store: ObjectStore): Promise<Map<string, number>> {
  const present = new Map<string, number>()
  for (const object of (await withRetry(() => store.list(OBJECTS_PREFIX))).objects) {
    const hash = hashOfObjectKey(object.key)
    if (hash) present.set(hash, object.size)
  }
  return present
}

async function headPool(store: ObjectStore, hashes: string[], concurrency: number): Promise<Map<string, number>> {
  const present = new Map<string, number>()
  await forEachLimit(hashes, concurrency, async (hash) => {
    const info = await withRetry(() => store.head(objectKey(hash)))
    if (info) present.set(hash, info.size)
  })
  return present
}
