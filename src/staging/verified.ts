/**
 * Which stored objects are known to hold the bytes their name promises, without reading them.
 *
 * When a stage writes an object (or reads a stored one and finds it hashes to its name), it records
 * the object's version token as the store's listing shows it: S3's ETag (a new one for every write
 * of other bytes), or size and mtime on the file store (any rewrite changes the mtime). A later
 * stage trusts an object only while its listed token is one that was recorded; anything else
 * (damaged in place with the same size, or stored before this record existed) is read and hashed,
 * then kept or sent again. Records are small JSON segments under `datasets/verified/`, one per stage
 * run (S3 has no append), merged on read and compacted when they pile up.
 */
import {randomBytes} from 'node:crypto'

import type {ObjectInfo, ObjectStore} from '../store/types'
import {DATASETS_PREFIX} from './layout'

export const VERIFIED_PREFIX = `${DATASETS_PREFIX}verified/`
/** more segments than this and a stage merges them into one */
const COMPACT_AT = 32

interface Segment {
  schemaVersion: 1
  /** sha256 → the version tokens under which that object was verified */
  objects: Record<string, string[]>
}

export function versionToken(info: ObjectInfo): string {
  return info.etag ? `etag:${info.etag}` : `${info.size}:${info.modified.getTime()}`
}

export class VerifiedIndex {
  private readonly known = new Map<string, Set<string>>()
  private readonly added = new Map<string, Set<string>>()

  private constructor(private readonly segments: string[]) {}

  static async load(store: ObjectStore): Promise<VerifiedIndex> {
    const keys = (await store.list(VERIFIED_PREFIX)).objects.map((o) => o.key)
    const index = new VerifiedIndex(keys)
    const bodies = await Promise.all(keys.map((key) => store.get(key)))
    for (const body of bodies) {
      if (!body) continue // compacted away meanwhile: its entries are in the merged segment
      try {
        const segment = JSON.parse(body.toString('utf8')) as Segment
        for (const [hash, tokens] of Object.entries(segment.objects ?? {})) for (const token of tokens) index.add(index.known, hash, token)
      } catch {
        // a damaged record only costs a re-verification of its objects
      }
    }
    return index
  }

  /** Whether the stored object, as listed, is one that was verified to hash to `hash`. */
  trusts(hash: string, info: ObjectInfo): boolean {
    const token = versionToken(info)
    return Boolean(this.known.get(hash)?.has(token) || this.added.get(hash)?.has(token))
  }

  record(hash: string, info: ObjectInfo): void {
    if (!this.trusts(hash, info)) this.add(this.added, hash, versionToken(info))
  }

  /** Writes this run's records (and merges all segments into one when there are many). */
  async save(store: ObjectStore): Promise<void> {
    if (this.added.size === 0) return
    const compact = this.segments.length >= COMPACT_AT
    const merged = compact ? new Map([...this.known].map(([hash, tokens]) => [hash, new Set(tokens)])) : new Map<string, Set<string>>()
    for (const [hash, tokens] of this.added) for (const token of tokens) this.add(merged, hash, token)
    const segment: Segment = {schemaVersion: 1, objects: Object.fromEntries([...merged].map(([hash, tokens]) => [hash, [...tokens]]))}
    const key = `${VERIFIED_PREFIX}${new Date().toISOString().replace(/[:.]/g, '')}-${randomBytes(4).toString('hex')}.json`
    // No fsync: a segment lost or torn in a crash only costs a re-verification (see load).
    await store.put(key, JSON.stringify(segment), {durable: false})
    // Only segments read above are removed: one written meanwhile by another stage stays.
    if (compact) for (const old of this.segments) await store.delete(old)
  }

  private add(into: Map<string, Set<string>>, hash: string, token: string): void {
    let tokens = into.get(hash)
    if (!tokens) into.set(hash, (tokens = new Set()))
    tokens.add(token)
  }
}
