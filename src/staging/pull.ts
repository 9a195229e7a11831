/**
 * `rfm data pull REF DIR`: downloads a dataset and verifies every byte. Each file is streamed to a
 * temporary file beside its destination while being hashed, and renamed into place only when its
 * sha256 matches the manifest; a mismatch is an error, never a silent bad file. Nothing is written
 * outside DIR, even for a crafted manifest: paths are checked when the manifest is parsed, and every
 * parent folder on disk is checked to be a real directory (not a symlink) before writing into it.
 */
import {createHash, randomBytes} from 'node:crypto'
import {createWriteStream, promises as fs} from 'node:fs'
import * as path from 'node:path'
import {pipeline} from 'node:stream/promises'
import {Transform} from 'node:stream'

import {BackendError, UsageError} from '../errors'
import {linkLeadsInside, SafeTree} from '../paths'
import {getStream} from '../store/transfer'
import type {ObjectStore} from '../store/types'
import {resolveRef, readManifest} from './catalog'
import {forEachLimit, withRetry, type RetryOptions} from './concurrency'
import {formatRef, objectKey, SHORT_HASH} from './layout'
import type {ManifestFile} from './manifest'
import {Progress, type ProgressMode} from './progress'
import {hashFile} from './stage'

/** Permission bits a pulled file may have: rwx for its owner, r-x for group and others at most. */
const PULLED_MODE_MASK = 0o755

export interface PullOptions {
  concurrency?: number
  progress?: ProgressMode
  retry?: RetryOptions
}

export interface PullResult {
  ref: string
  hash: string
  dir: string
  files: number
  links: number
  bytes: number
  /** files already present in DIR with the right content */
  unchangedFiles: number
  downloadedFiles: number
  downloadedBytes: number
}

export async function pullDataset(store: ObjectStore, ref: string, dir: string, options: PullOptions = {}): Promise<PullResult> {
  const resolved = await resolveRef(store, ref)
  const manifest = await readManifest(store, resolved.hash)
  const root = path.resolve(dir)
  const safe = await SafeTree.open(root)

  const todo: ManifestFile[] = []
  let unchanged = 0
  await forEachLimit(manifest.files, 8, async (file) => {
    const target = await safe.target(file.path)
    const stat = await fs.lstat(target).catch(() => undefined)
    if (stat?.isFile() && stat.size === file.size && (await hashFile(target, file.size)) === file.sha256) unchanged++
    else todo.push(file)
  })

  const totalBytes = todo.reduce((sum, f) => sum + f.size, 0)
  const progress = new Progress({label: 'Downloading', totalBytes, totalFiles: todo.length, mode: options.progress ?? 'silent'})
  try {
    await forEachLimit(todo, options.concurrency ?? (store.url.startsWith('s3:') ? 32 : 4), async (file) => {
      await downloadVerified(store, file, await safe.target(file.path), progress, options.retry)
      progress.fileDone()
    })
  } finally {
    progress.finish()
  }

  for (const link of manifest.links) {
    const target = await safe.target(link.path)
    const existing = await fs.lstat(target).catch(() => undefined)
    if (existing?.isSymbolicLink() && (await fs.readlink(target)) === link.target) continue
    if (existing?.isDirectory()) throw new UsageError(`Cannot create the link ${link.path}: ${target} is a directory.`, {hint: 'Pull into an empty folder.'})
    if (existing) await fs.rm(target)
    await fs.symlink(link.target, target)
  }
  // Links were checked one by one when the manifest was parsed, but links combine (a -> d/up/..
  // with d/up -> ..) and DIR may hold links of its own: check where each leads on disk, now.
  for (const link of manifest.links) {
    const target = path.join(safe.root, ...link.path.split('/'))
    if (!linkLeadsInside(safe.root, target)) {
      for (const made of manifest.links) await fs.rm(path.join(safe.root, ...made.path.split('/')), {force: true})
      throw new UsageError(`Refusing a crafted or damaged manifest: the link ${JSON.stringify(link.path)} (-> ${JSON.stringify(link.target)}) leads outside ${safe.root} through other links.`, {
        code: 'UNSAFE_MANIFEST',
        hint: 'The links of the dataset were removed again; links must stay inside the dataset.',
      })
    }
  }

  return {
    ref: resolved.name ? formatRef(resolved.name, resolved.hash) : resolved.hash.slice(0, SHORT_HASH),
    hash: resolved.hash,
    dir: root,
    files: manifest.files.length,
    links: manifest.links.length,
    bytes: manifest.files.reduce((sum, f) => sum + f.size, 0),
    unchangedFiles: unchanged,
    downloadedFiles: todo.length,
    downloadedBytes: totalBytes,
  }
}

async function downloadVerified(store: ObjectStore, file: ManifestFile, target: string, progress: Progress, retry?: RetryOptions): Promise<void> {
  let mismatches = 0
  await withRetry(async () => {
    const tmp = path.join(path.dirname(target), `.rfm-pull-${randomBytes(6).toString('hex')}`)
    let received = 0
    try {
      const source = await getStream(store, objectKey(file.sha256))
      if (!source) {
        throw new BackendError(`Object ${file.sha256.slice(0, SHORT_HASH)} for ${file.path} is missing from ${store.url}.`, {
          code: 'INTEGRITY',
          hint: 'Stage the dataset again from its source to restore it.',
        })
      }
      const hash = createHash('sha256')
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk)
          received += chunk.length
          progress.addBytes(chunk.length)
          done(null, chunk)
        },
      })
      // 'wx': never follow or reuse whatever might sit at the temporary name.
      await pipeline(source, meter, createWriteStream(tmp, {flags: 'wx', mode: 0o600}))
      const actual = hash.digest('hex')
      if (actual !== file.sha256 || received !== file.size) {
        mismatches++
        const error = new BackendError(
          `Integrity check failed for ${file.path}: expected sha256 ${file.sha256.slice(0, SHORT_HASH)}… (${file.size} bytes), got ${actual.slice(0, SHORT_HASH)}… (${received} bytes).`,
          {
            code: 'INTEGRITY',
            hint: 'The stored object is damaged; stage the dataset again from its source with rfm data stage SOURCE --full (which checks the content of every stored object and repairs damaged ones).',
            details: {retryable: mismatches < 2, path: file.path},
          },
        )
        throw error
      }
      // the stored permission bits, less group/other write: a dataset staged from a 0777 tree must
      // not land world-writable in the trainer's folder (as tar does for a non-root user's umask)
      await fs.chmod(tmp, file.mode & PULLED_MODE_MASK)
      await fs.rename(tmp, target)
    } catch (error) {
      progress.addBytes(-received)
      await fs.rm(tmp, {force: true})
      throw error
    }
  }, retry)
}
