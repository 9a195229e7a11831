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
import {OutageTolerantStore} from '../store/outage'
import {getStream, putFile} from '../store/transfer'
import type {ObjectStore} from '../store/types'
import {forEachLimit, Semaphore, withRetry, type RetryOptions} from './concurrency'
import {startLease} from './lease'
import {HashCache} from './hash-cache'
import {formatRef, hashOfObjectKey, checkName, manifestKey, nameKey, nameFromPath, objectKey, OBJECTS_PREFIX} from './layout'
import {manifestBytes, sha256, type Manifest} from './manifest'
import {Progress, type ProgressMode} from './progress'
import {stampOf, walkTree, type LocalFile, type LocalTree, type TreeFilter} from './walk'

export interface StageOptions {
  name?: string
  /** parallel transfers (default: 16 for S3, 4 for a file store) */
  concurrency?: number
  progress?: ProgressMode
  /** reuse hashes of unchanged files from $RFM_HOME/cache (default true) */
  hashCache?: boolean
  retry?: RetryOptions
  /**
   * check every object against the store even when the tree is unchanged and its manifest is
   * already stored, and verify the content (sha256) of every object the store has: repairs a pool
   * that lost objects or holds damaged ones. Without it, an object of the right size counts as present.
   */
  full?: boolean
  /** files at or below this count are checked with HEAD requests instead of listing the pool */
  headCheckMax?: number
  /** paths left out of a staged folder (e.g. a workdir's .gitignore rules) */
  ignore?: TreeFilter
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

export async function stageTree(given: ObjectStore, source: string, options: StageOptions = {}): Promise<StageResult> {
  // Every store call rides out outages (RFM_STORE_OUTAGE_SECONDS) on top of the per-file retry.
  const store = given instanceof OutageTolerantStore ? given : new OutageTolerantStore(given)
  const started = Date.now()
  // gc deletes no unreferenced object while this lease is fresh (objects go up before the manifest).
  const lease = await startLease(store)
  try {
    return await stageWithLease(store, source, options, started)
  } finally {
    await lease.end()
  }
}

async function stageWithLease(store: ObjectStore, source: string, options: StageOptions, started: number): Promise<StageResult> {
  const name = checkName(options.name ?? nameFromPath(source))
  const tree = await walkTree(source, options.ignore)
  const concurrency = options.concurrency ?? (store.url.startsWith('s3:') ? 32 : 16)
  const treeBytes = tree.files.reduce((sum, f) => sum + f.size, 0)
  const progress = new Progress({label: 'Staging', totalBytes: treeBytes, totalFiles: tree.files.length, mode: options.progress ?? 'silent'})

  // Hashing, the presence check and uploads overlap: a file goes up as soon as its hash is known
  // to be missing, while later files are still being hashed.
  const cache = await HashCache.open(tree.base, options.hashCache ?? true)
  const hashes: string[] = new Array(tree.files.length)
  const uploads = new Map<string, Promise<boolean>>() // one upload per distinct content
  const waiting: Array<Promise<unknown>> = []
  const slots = new Semaphore(concurrency)
  const large = new Semaphore(2)
  let failed = false
  let uploadedFiles = 0
  let uploadedBytes = 0

  const upload = (hash: string, file: LocalFile) => async (): Promise<boolean> => {
    if (failed) return false
    if ((await sizeInStore(hash)) === file.size && !(options.full && !(await objectMatches(store, hash)))) return false
    const send = () =>
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
    await slots.use(() => (file.size > LARGE ? large.use(send) : send()))
    uploadedFiles++
    uploadedBytes += file.size
    return true
  }

  // Unchanged tree, all hashes cached, and its manifest already stored: the manifest is written
  // only after every object it lists, so there is nothing to check or upload.
  const cached = tree.files.map((f) => cache.lookup(f.path, f.stamp, f.mtimeMs))
  const complete = !options.full && cached.every((h): h is string => h !== undefined) && (await withRetry(() => store.head(manifestKey(sha256(manifestBytes(manifestOf(tree, cached as string[])))))))
  if (complete) cached.forEach((h, i) => (hashes[i] = h!))
  const sizeInStore = complete ? async () => undefined : presenceCheck(store, tree.files.length > (options.headCheckMax ?? 64))

  try {
    if (!complete) await forEachLimit(tree.files, 4, async (file, i) => {
      if (failed) return
      let hash = cache.lookup(file.path, file.stamp, file.mtimeMs)
      if (!hash) {
        const hashedAt = Date.now()
        hash = await hashFile(file.abs, file.size)
        cache.record(file.path, file.stamp, hash, hashedAt)
      }
      hashes[i] = hash
      let job = uploads.get(hash)
      const uploader = !job
      if (!job) {
        job = upload(hash, file)()
        uploads.set(hash, job)
      }
      waiting.push(
        job.then(
          (sent) => {
            if (!(uploader && sent)) progress.addBytes(file.size)
            progress.fileDone()
          },
          (error: unknown) => {
            failed = true
            throw error
          },
        ),
      )
    })
    const settled = await Promise.allSettled(waiting)
    const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (rejected) throw rejected.reason
    if (complete) {
      progress.files = tree.files.length
      progress.addBytes(treeBytes)
    }
  } finally {
    progress.finish()
    await cache.save(tree.files.map((f) => f.path)).catch(() => undefined) // a cache is never worth failing for
  }

  const bytes = manifestBytes(manifestOf(tree, hashes))
  const hash = sha256(bytes)
  const entry: NameEntry = {
    name,
    hash,
    ref: formatRef(name, hash),
    stagedAt: new Date().toISOString(),
    files: tree.files.length,
    bytes: treeBytes,
    source: tree.root === 'file' ? tree.files[0].abs : tree.base,
    host: os.hostname(),
  }
  // Right before the manifest: every object it lists must exist now (a gc, or a removal outside
  // rfm, may have deleted one since it was found or sent); missing ones are sent again. (An
  // unchanged tree whose manifest is stored already writes no manifest: it trusts the stored one.)
  const distinct = new Map<string, LocalFile>()
  if (!complete) tree.files.forEach((file, i) => distinct.set(hashes[i], file))
  const pool = distinct.size > (options.headCheckMax ?? 64) ? await listPool(store) : undefined
  await forEachLimit([...distinct], 16, async ([objectHash, file]) => {
    const size = pool ? pool.get(objectHash) : (await store.head(objectKey(objectHash)))?.size
    if (size === file.size) return
    await withRetry(async () => {
      await putFile(store, objectKey(objectHash), file.abs)
      await checkUnchanged(store, file, objectHash)
    }, options.retry)
    uploadedFiles++
    uploadedBytes += file.size
  })
  await withRetry(async () => {
    if (!(await store.head(manifestKey(hash)))) await store.put(manifestKey(hash), bytes)
    await store.put(nameKey(name, hash), JSON.stringify(entry, null, 2) + '\n')
  }, options.retry)
  return {
    ...entry,
    links: tree.links.length,
    uploadedFiles,
    uploadedBytes,
    skippedFiles: tree.files.length - uploadedFiles,
    seconds: (Date.now() - started) / 1000,
  }
}

function manifestOf(tree: LocalTree, hashes: string[]): Manifest {
  return {
    schemaVersion: 1,
    type: 'rfm.dataset',
    root: tree.root,
    files: tree.files.map((f, i) => ({path: f.path, size: f.size, sha256: hashes[i], mode: f.mode})),
    links: tree.links,
  }
}

/** Whether the stored object's content hashes to its name (for --full: a damaged object is sent again). */
async function objectMatches(store: ObjectStore, hash: string): Promise<boolean> {
  const stream = await getStream(store, objectKey(hash))
  if (!stream) return false
  const digest = createHash('sha256')
  for await (const chunk of stream) digest.update(chunk as Buffer)
  return digest.digest('hex') === hash
}

/** An object must hold the bytes its name promises: a file edited while staging is not stored. */
async function checkUnchanged(store: ObjectStore, file: LocalFile, hash: string): Promise<void> {
  const now = await fs.lstat(file.abs, {bigint: true}).catch(() => undefined)
  if (now && stampOf(now) === file.stamp) return
  await store.delete(objectKey(hash))
  throw new UsageError(`${file.abs} changed while it was being staged.`, {hint: 'Stage again once the files stop changing.'})
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

/**
 * How the store is asked which contents it has: one (paged) listing of the object pool for large
 * trees — started at once, while files are hashed — or a HEAD per content for small ones.
 * Answers the stored size, or undefined when the object is missing.
 */
function presenceCheck(store: ObjectStore, listWholePool: boolean): (hash: string) => Promise<number | undefined> {
  if (!listWholePool) return async (hash) => (await withRetry(() => store.head(objectKey(hash))))?.size
  const listing = listPool(store)
  listing.catch(() => undefined) // awaited by the first file that needs it
  return async (hash) => (await listing).get(hash)
}
