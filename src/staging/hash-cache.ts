/**
 * Remembers the sha256 of local files by (size, mtime, ctime, inode), so re-staging an unchanged
 * tree reads no file contents. Like git's index, an entry is trusted only when the file had not
 * changed for a while before it was hashed: a write in the same timestamp tick as the hash could
 * otherwise go unnoticed. One JSON file per staged folder, under $RFM_HOME/cache/hashes/.
 */
import {promises as fs} from 'node:fs'
import * as path from 'node:path'

import {rfmHome} from '../config/home'
import {sha256} from './manifest'

/** a file must have been unchanged this long before hashing for its entry to be reused */
const RACY_MS = 1000

interface Entry {
  stamp: string
  sha256: string
  hashedAt: number
}

export class HashCache {
  private entries = new Map<string, Entry>()
  private dirty = false

  private constructor(
    private readonly file: string | undefined,
    private readonly base: string,
  ) {}

  static async open(base: string, enabled = true): Promise<HashCache> {
    if (!enabled) return new HashCache(undefined, base)
    const file = path.join(rfmHome(), 'cache', 'hashes', `${sha256(base).slice(0, 32)}.json`)
    const cache = new HashCache(file, base)
    try {
      const data = JSON.parse(await fs.readFile(file, 'utf8')) as {base: string; entries: Record<string, Entry>}
      if (data.base === base) cache.entries = new Map(Object.entries(data.entries))
    } catch {
      // missing or unreadable: start empty
    }
    return cache
  }

  lookup(rel: string, stamp: string, mtimeMs: number): string | undefined {
    const entry = this.entries.get(rel)
    if (!entry || entry.stamp !== stamp || mtimeMs > entry.hashedAt - RACY_MS) return undefined
    return entry.sha256
  }

  record(rel: string, stamp: string, hash: string, hashedAt: number): void {
    this.entries.set(rel, {stamp, sha256: hash, hashedAt})
    this.dirty = true
  }

  /** Keeps only the given paths (files that left the tree are forgotten) and writes the cache. */
  async save(keep: Iterable<string>): Promise<void> {
    if (!this.file) return
    const wanted = new Set(keep)
    for (const key of this.entries.keys()) {
      if (!wanted.has(key)) {
        this.entries.delete(key)
        this.dirty = true
      }
    }
    if (!this.dirty) return
    await fs.mkdir(path.dirname(this.file), {recursive: true})
    const tmp = `${this.file}.${process.pid}.tmp`
    await fs.writeFile(tmp, JSON.stringify({base: this.base, entries: Object.fromEntries(this.entries)}))
    await fs.rename(tmp, this.file)
  }
}
