/**
 * Path safety: the one place that decides whether a path taken from data (a manifest entry, a
 * dataset record's image path, a state.json shard name) may be read or written. Readers resolve
 * such a path against the folder that holds it and refuse it when it leaves the dataset, lexically
 * or through symlinks on disk; writers create parents one level at a time, refuse parents that are
 * not real directories, and replace (never write through) whatever sits at the target name.
 */
import {randomBytes} from 'node:crypto'
import {lstatSync, promises as fs, readlinkSync, realpathSync} from 'node:fs'
import * as path from 'node:path'

import {UsageError} from '../errors'

/** A path from data that would lead outside the folder it must stay in. */
export class PathEscapeError extends UsageError {
  constructor(
    readonly given: string,
    readonly root: string,
  ) {
    super(`The path ${JSON.stringify(given)} leads outside ${root}; rfm reads and writes only inside it.`, {
      code: 'UNSAFE_PATH',
      hint: 'Paths inside a dataset are relative to the file that names them and must stay inside the dataset folder (no "..", no absolute paths, no links out).',
      details: {path: given, root},
    })
  }
}

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep)
}

/**
 * Resolves `given` (relative to `baseDir`, or absolute) and returns the absolute path, provided
 * it stays inside `root` both as written and on disk (every existing symlink on the way followed).
 * Throws PathEscapeError otherwise, before anything is opened.
 */
export function resolveInside(root: string, baseDir: string, given: string): string {
  if (typeof given !== 'string' || given === '' || given.includes('\0')) throw new PathEscapeError(String(given), root)
  const rootAbs = path.resolve(root)
  const full = path.resolve(baseDir, given)
  if (!inside(rootAbs, full)) throw new PathEscapeError(given, rootAbs)
  const rootReal = realOrSelf(rootAbs)
  const physical = resolvePhysical(path.isAbsolute(given) ? given : path.resolve(baseDir) + path.sep + given)
  if (!inside(rootReal, physical) && !inside(rootAbs, physical)) throw new PathEscapeError(given, rootAbs)
  return full
}

function realOrSelf(p: string): string {
  try {
    return realpathSync(p)
  } catch {
    return p
  }
}

/**
 * Where `abs` really leads on disk: each existing component is followed if it is a symlink (up
 * to 40 links, like the kernel), ".." applies to the real folder, and missing components are kept
 * as written. Unlike realpath, it answers for dangling paths too.
 */
export function resolvePhysical(abs: string): string {
  let hops = 0
  // Not path.resolve: it would apply ".." lexically, before the links it comes after are followed.
  const raw = path.isAbsolute(abs) ? abs : process.cwd() + path.sep + abs
  const todo = raw.split(/[\\/]+/).filter(Boolean)
  let current = path.parse(raw).root
  while (todo.length > 0) {
    const segment = todo.shift() as string
    if (segment === '.') continue
    if (segment === '..') {
      current = path.dirname(current)
      continue
    }
    const next = path.join(current, segment)
    let stat
    try {
      stat = lstatSync(next)
    } catch {
      current = next
      continue
    }
    if (!stat.isSymbolicLink()) {
      current = next
      continue
    }
    if (++hops > 40) return next
    const target = readlinkSync(next)
    if (path.isAbsolute(target)) current = path.parse(target).root
    todo.unshift(...target.split(/[\\/]+/).filter(Boolean))
  }
  return current
}

/** Whether a symlink at `linkAbs` leads, on disk as it is now, to a place inside `root`. */
export function linkLeadsInside(root: string, linkAbs: string): boolean {
  const rootReal = realOrSelf(path.resolve(root))
  return inside(rootReal, resolvePhysical(linkAbs))
}

/**
 * Writes below one folder and never outside it: parents are created one level at a time and must
 * be real directories (not symlinks); a file is written to a temporary name beside its target and
 * renamed over it, so a symlink at the target is replaced rather than written through.
 */
export class SafeTree {
  private readonly checked = new Map<string, Promise<void>>()

  private constructor(readonly root: string) {}

  /** Creates `dir` if needed and opens it as the root (its real path). */
  static async open(dir: string): Promise<SafeTree> {
    const abs = path.resolve(dir)
    await fs.mkdir(abs, {recursive: true}).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST' || error.code === 'ENOTDIR')
        throw new UsageError(`Cannot write into ${abs}: it exists and is not a folder.`, {code: 'NOT_A_DIRECTORY', hint: 'Give a new or empty folder.'})
      throw error
    })
    return new SafeTree(await fs.realpath(abs))
  }

  /** The absolute path for `rel` (slash-separated, no ".." or absolute paths), parents made safe. */
  async target(rel: string): Promise<string> {
    const parts = rel.split('/')
    if (!rel || rel.startsWith('/') || rel.includes('\0') || rel.includes('\\') || parts.some((s) => s === '' || s === '.' || s === '..')) {
      throw new PathEscapeError(rel, this.root)
    }
    const target = path.join(this.root, ...parts)
    if (!inside(this.root, target) || target === this.root) throw new PathEscapeError(rel, this.root)
    for (let i = 1; i < parts.length; i++) await this.ensure(parts.slice(0, i).join('/'))
    return target
  }

  /** Writes `data` at `rel` by a temporary file and a rename; returns the absolute path. */
  async writeFile(rel: string, data: Uint8Array, mode = 0o644): Promise<string> {
    const target = await this.target(rel)
    const existing = await fs.lstat(target).catch(() => undefined)
    if (existing?.isDirectory()) throw new UsageError(`Cannot write ${target}: it is a directory.`, {code: 'NOT_A_FILE', hint: 'Pull into an empty folder.'})
    const tmp = path.join(path.dirname(target), `.rfm-write-${randomBytes(6).toString('hex')}`)
    try {
      // 'wx': never follow or reuse whatever might sit at the temporary name.
      await fs.writeFile(tmp, data, {flag: 'wx', mode})
      await fs.rename(tmp, target)
    } catch (error) {
      await fs.rm(tmp, {force: true})
      throw error
    }
    return target
  }

  private ensure(relDir: string): Promise<void> {
    let pending = this.checked.get(relDir)
    if (!pending) {
      pending = (async () => {
        const dir = path.join(this.root, ...relDir.split('/'))
        const stat = await fs.lstat(dir).catch(() => undefined)
        if (!stat) await fs.mkdir(dir).catch((error: NodeJS.ErrnoException) => (error.code === 'EEXIST' ? undefined : Promise.reject(error)))
        const now = stat ?? (await fs.lstat(dir))
        if (!now.isDirectory()) {
          throw new UsageError(`Refusing to write into ${dir}: it is ${now.isSymbolicLink() ? 'a symlink' : 'not a directory'}.`, {code: 'UNSAFE_PATH', hint: 'Pull into an empty folder.'})
        }
      })()
      this.checked.set(relDir, pending)
    }
    return pending
  }
}
