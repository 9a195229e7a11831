/**
 * `rfm data stage`: a local tree → content-addressed objects + a manifest (layout in ./layout.ts).
 * Each file is read once: hashed from the buffer it is uploaded from (or, on the file store, copied
 * and hashed in one stream), with bounded concurrency. Which objects the store has comes from one
 * listing of the pool (HEADs for small trees); a stored object is trusted only while its version
 * (ETag, or size and mtime) is one recorded as verified (./verified.ts), otherwise it is read back
 * and, if damaged, sent again. The manifest and name entry are written LAST: a run killed at any
 * point leaves only complete objects behind; running it again sends just what is still missing.
 */
import {createHash} from 'node:crypto'
import {closeSync, createReadStream, fstatSync, promises as fs} from 'node:fs'
import * as os from 'node:os'

import {UsageError} from '../errors'
import {fdio} from '../store/fdio'
import {OutageTolerantStore} from '../store/outage'
import {getStream, putFile} from '../store/transfer'
import type {ObjectInfo, ObjectStore} from '../store/types'
import {forEachLimit, Semaphore, withRetry, type RetryOptions} from './concurrency'
import {startLease} from './lease'
import {HashCache} from './hash-cache'
import {formatRef, hashOfObjectKey, checkName, manifestKey, nameKey, nameFromPath, objectKey, OBJECTS_PREFIX} from './layout'
import {manifestBytes, sha256, type Manifest} from './manifest'
import {VerifiedIndex} from './verified'
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
   * read back and hash every stored object the tree uses, even those recorded as verified (repairs
   * damage that kept an object's version, e.g. bit rot). Without it, an object counts as present
   * while its listed version is one recorded as verified; any other is read back and checked.
   */
  full?: boolean
  /** files at or below this count are checked with HEAD requests instead of listing the pool (default: 64 on S3, all on a file store) */
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

/** Files up to this size are read into memory once (hash and upload from the same buffer). */
const SMALL = 4 * 1024 * 1024
/** Larger files up to this size too on stores without `ingestFile` (S3: one PUT), 2 at a time. */
const BUFFER_MAX = 64 * 1024 * 1024

export async function stageTree(given: ObjectStore, source: string, options: StageOptions = {}): Promise<StageResult> {
  // Every store call rides out outages (RFM_STORE_OUTAGE_SECONDS) on top of the per-file retry.
  const store = given instanceof OutageTolerantStore ? given : new OutageTolerantStore(given)
  const started = Date.now()
  // gc deletes no unreferenced object while this lease is fresh (objects go up before the manifest).
  // The tree is walked meanwhile; nothing is written before the lease is held.
  const name = checkName(options.name ?? nameFromPath(source))
  const [leased, walked] = await Promise.allSettled([startLease(store), walkTree(source, options.ignore)])
  if (leased.status === 'rejected') throw leased.reason
  try {
    if (walked.status === 'rejected') throw walked.reason
    return await stageWithLease(store, name, walked.value, options, started)
  } finally {
    await leased.value.end()
  }
}

async function stageWithLease(store: ObjectStore, name: string, tree: LocalTree, options: StageOptions, started: number): Promise<StageResult> {
  const concurrency = options.concurrency ?? (store.url.startsWith('s3:') ? 32 : 16)
  const treeBytes = tree.files.reduce((sum, f) => sum + f.size, 0)
  const progress = new Progress({label: 'Staging', totalBytes: treeBytes, totalFiles: tree.files.length, mode: options.progress ?? 'silent'})
  // A file store's HEAD is a local stat, what its listing does per object anyway: it scales with the
  // tree, not the pool. On S3 one listing beats a HEAD per object once a tree has more than a few.
  const headCheckMax = options.headCheckMax ?? (store.url.startsWith('s3:') ? 64 : Infinity)

  // Each file is read once: hashed from the buffer it is uploaded from (or, on the file store,
  // copied and hashed in one stream). The pool listing and the verified index load meanwhile.
  const cache = await HashCache.open(tree.base, options.hashCache ?? true)
  const lookup = presenceCheck(store, tree.files.length > headCheckMax)
  const verified = VerifiedIndex.load(store)
  verified.catch(() => undefined) // awaited where needed
  const hashes: string[] = new Array(tree.files.length)
  const decided = new Map<string, Promise<void>>() // one decision (and upload) per distinct content
  const sent = new Set<string>() // contents written by this run
  const checked = new Set<string>() // stored contents this run read and found intact
  const large = new Semaphore(2)
  let uploadedFiles = 0
  let uploadedBytes = 0

  /** Makes sure the store holds `hash` intact; `bytes` are the file's content when already read. */
  const ensureStored = async (hash: string, file: LocalFile, bytes?: Buffer): Promise<void> => {
    const present = await lookup(hash)
    if (present && present.size === file.size) {
      if (!options.full && (await verified).trusts(hash, present)) return
      if (await objectMatches(store, hash)) return void checked.add(hash)
    }
    await withRetry(async () => {
      if (bytes) await store.put(objectKey(hash), bytes, {durable: false, sha256: hash})
      else {
        await putFile(store, objectKey(hash), file.abs)
        await checkUnchanged(store, file, hash)
      }
    }, options.retry)
    sent.add(hash)
    uploadedFiles++
    uploadedBytes += file.size
  }

  const stageFile = async (file: LocalFile, index: number): Promise<void> => {
    let hash = cache.lookup(file.path, file.stamp, file.mtimeMs)
    let bytes: Buffer | undefined
    if (!hash) {
      const hashedAt = Date.now()
      if (store.ingestFile && file.size > SMALL) {
        // File store: copy and hash in one stream straight into place (whatever was stored there
        // under that name is replaced by bytes that hash to it).
        const copied = await withRetry(() => store.ingestFile!(file.abs, objectKey, {durable: false}), options.retry)
        await checkStamp(file)
        hash = copied.sha256
        if (!sent.has(hash)) {
          sent.add(hash)
          uploadedFiles++
          uploadedBytes += file.size
        }
      } else if (file.size <= BUFFER_MAX) {
        bytes = await readStable(file)
        hash = createHash('sha256').update(bytes).digest('hex')
      } else {
        hash = await hashFile(file.abs, file.size) // S3, over 64 MiB: a hash pass, then a streamed multipart upload
      }
      cache.record(file.path, file.stamp, hash, hashedAt)
    }
    hashes[index] = hash
    let decision = decided.get(hash)
    if (!decision) decided.set(hash, (decision = sent.has(hash) ? Promise.resolve() : ensureStored(hash, file, bytes)))
    await decision
    progress.addBytes(file.size)
    progress.fileDone()
  }

  try {
    // Largest first: a few big files left to the end would run with little else to overlap them.
    const order = tree.files.map((_, i) => i).sort((a, b) => tree.files[b].size - tree.files[a].size)
    await forEachLimit(order, concurrency, (i) => {
      const file = tree.files[i]
      return file.size > SMALL ? large.use(() => stageFile(file, i)) : stageFile(file, i)
    })
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
  // rfm, may have deleted one since it was found or sent); missing ones are sent again. A manifest
  // that is already stored protects its objects from gc, so then the check above suffices.
  const index = await verified
  const manifestStored = await withRetry(() => store.head(manifestKey(hash)))
  const distinct = new Map<string, LocalFile>()
  tree.files.forEach((file, i) => distinct.set(hashes[i], file))
  const recheck = manifestStored ? [...distinct].filter(([h]) => sent.has(h) || checked.has(h)) : [...distinct]
  const pool = recheck.length > headCheckMax ? await listPool(store) : undefined
  await forEachLimit(recheck, 16, async ([objectHash, file]) => {
    let info = pool ? pool.get(objectHash) : await store.head(objectKey(objectHash))
    if (info?.size !== file.size) {
      await withRetry(async () => {
        await putFile(store, objectKey(objectHash), file.abs)
        await checkUnchanged(store, file, objectHash)
      }, options.retry)
      if (!sent.has(objectHash)) {
        uploadedFiles++
        uploadedBytes += file.size
      }
      sent.add(objectHash)
      info = await store.head(objectKey(objectHash))
    }
    // What this run wrote or read back intact is trusted by later stages while it stays as listed now.
    if (info && (sent.has(objectHash) || checked.has(objectHash))) index.record(objectHash, info)
  })
  await withRetry(() => index.save(store), options.retry)
  await withRetry(async () => {
    if (!manifestStored) await store.put(manifestKey(hash), bytes)
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
  throw changedWhileStaging(file)
}

/** The file must still be as the walk saw it: its hash names what the manifest records. */
async function checkStamp(file: LocalFile): Promise<void> {
  const now = await fs.lstat(file.abs, {bigint: true}).catch(() => undefined)
  if (now && stampOf(now) === file.stamp) return
  throw changedWhileStaging(file)
}

/**
 * The file's bytes, read once through one handle (open, read, fstat, close): the stamp of the handle
 * after the read must be the walk's, so the bytes are the content the manifest will name.
 */
async function readStable(file: LocalFile): Promise<Buffer> {
  const fd = await fdio.open(file.abs, 'r')
  try {
    const bytes = Buffer.allocUnsafe(file.size)
    let read = 0
    while (read < file.size) {
      const n = await fdio.read(fd, bytes, read, file.size - read, read)
      if (n === 0) break
      read += n
    }
    // fstat and close of a descriptor opened for reading do no I/O: synchronous, they cost less
    // than the thread-pool round trip of their async forms (thousands of small files).
    if (stampOf(fstatSync(fd, {bigint: true})) !== file.stamp || read !== file.size) throw changedWhileStaging(file)
    return bytes
  } finally {
    closeSync(fd)
  }
}

function changedWhileStaging(file: LocalFile): UsageError {
  return new UsageError(`${file.abs} changed while it was being staged.`, {hint: 'Stage again once the files stop changing.'})
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

/** hash → listing entry of every object in the pool, from one (paged) listing. */
export async function listPool(store: ObjectStore): Promise<Map<string, ObjectInfo>> {
  const present = new Map<string, ObjectInfo>()
  for (const object of (await withRetry(() => store.list(OBJECTS_PREFIX))).objects) {
    const hash = hashOfObjectKey(object.key)
    if (hash) present.set(hash, object)
  }
  return present
}

/**
 * How the store is asked which contents it has: one (paged) listing of the object pool for large
 * trees — started at once, while files are hashed — or a HEAD per content for small ones.
 * Answers the stored object's size and version, or undefined when it is missing.
 */
function presenceCheck(store: ObjectStore, listWholePool: boolean): (hash: string) => Promise<ObjectInfo | undefined> {
  if (!listWholePool) return async (hash) => withRetry(() => store.head(objectKey(hash)))
  const listing = listPool(store)
  listing.catch(() => undefined) // awaited by the first file that needs it
  return async (hash) => (await listing).get(hash)
}
