/**
 * A dataset manifest: every file's relative path, size, sha256 and mode, plus symlinks inside the
 * tree. Its canonical JSON (fixed key order, files sorted by path, no timestamps or names) is
 * hashed; that sha256 is the dataset's identity, so the same tree always gets the same hash.
 */
import {createHash} from 'node:crypto'

import {BackendError, UsageError} from '../errors'

export interface ManifestFile {
  path: string
  size: number
  sha256: string
  /** permission bits (mode & 0o777) */
  mode: number
}

export interface ManifestLink {
  path: string
  /** relative target, always inside the tree */
  target: string
}

export interface Manifest {
  schemaVersion: 1
  type: 'rfm.dataset'
  /** "dir": the staged path was a directory (paths are relative to it); "file": a single file */
  root: 'dir' | 'file'
  files: ManifestFile[]
  links: ManifestLink[]
}

const HEX64 = /^[0-9a-f]{64}$/

/** Canonical bytes of a manifest; the dataset hash is their sha256. */
export function manifestBytes(manifest: Manifest): Buffer {
  const byPath = <T extends {path: string}>(a: T, b: T) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  const canonical = {
    schemaVersion: 1,
    type: 'rfm.dataset',
    root: manifest.root,
    files: [...manifest.files].sort(byPath).map((f) => ({path: f.path, size: f.size, sha256: f.sha256, mode: f.mode})),
    links: [...manifest.links].sort(byPath).map((l) => ({path: l.path, target: l.target})),
  }
  return Buffer.from(JSON.stringify(canonical) + '\n')
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * A relative path that cannot leave the folder it is joined to: no absolute paths, no "." or ".."
 * segments, no backslashes or NUL, no empty segments.
 */
export function isSafeRelativePath(p: string): boolean {
  if (typeof p !== 'string' || p.length === 0 || p.length > 4096) return false
  if (p.startsWith('/') || p.includes('\\') || p.includes('\0') || /^[A-Za-z]:/.test(p)) return false
  return p.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..')
}

/** Whether a link at `linkPath` pointing to relative `target` stays inside the tree. */
export function linkStaysInside(linkPath: string, target: string): boolean {
  if (target.startsWith('/') || target.includes('\\') || target.includes('\0') || target === '') return false
  const parts = linkPath.split('/').slice(0, -1)
  for (const segment of target.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') {
      if (parts.length === 0) return false
      parts.pop()
    } else parts.push(segment)
  }
  return true
}

/**
 * Parses and checks manifest bytes read from the store against the hash they are stored under.
 * Any path that could write outside the destination is rejected here, before pull touches disk.
 */
export function parseManifest(bytes: Buffer, expectedHash: string): Manifest {
  const actual = sha256(bytes)
  if (actual !== expectedHash) {
    throw new BackendError(`The manifest of dataset ${expectedHash.slice(0, 12)} is damaged: its sha256 is ${actual.slice(0, 12)}….`, {
      code: 'INTEGRITY',
      hint: 'Stage the dataset again from its source to repair it.',
    })
  }
  let data: Manifest
  try {
    data = JSON.parse(bytes.toString('utf8')) as Manifest
  } catch {
    throw new BackendError(`The manifest of dataset ${expectedHash.slice(0, 12)} is not JSON.`, {code: 'INTEGRITY'})
  }
  checkManifest(data)
  return data
}

export function checkManifest(data: Manifest): void {
  const bad = (why: string) =>
    new UsageError(`Refusing a crafted or damaged manifest: ${why}.`, {code: 'UNSAFE_MANIFEST', hint: 'Dataset paths must be relative, without ".." segments, and links must stay inside the dataset.'})
  if (data?.type !== 'rfm.dataset' || data.schemaVersion !== 1 || !Array.isArray(data.files) || !Array.isArray(data.links)) throw bad('not an rfm dataset manifest')
  const seen = new Set<string>()
  const links = new Set<string>()
  for (const link of data.links) {
    if (!isSafeRelativePath(link.path)) throw bad(`unsafe link path ${JSON.stringify(link.path)}`)
    if (typeof link.target !== 'string' || !linkStaysInside(link.path, link.target)) throw bad(`link ${JSON.stringify(link.path)} points outside the dataset (${JSON.stringify(link.target)})`)
    if (seen.has(link.path)) throw bad(`duplicate path ${JSON.stringify(link.path)}`)
    seen.add(link.path)
    links.add(link.path)
  }
  for (const file of data.files) {
    if (!isSafeRelativePath(file.path)) throw bad(`unsafe file path ${JSON.stringify(file.path)}`)
    if (!HEX64.test(file.sha256) || !Number.isSafeInteger(file.size) || file.size < 0 || !Number.isInteger(file.mode)) throw bad(`bad entry for ${JSON.stringify(file.path)}`)
    if (seen.has(file.path)) throw bad(`duplicate path ${JSON.stringify(file.path)}`)
    seen.add(file.path)
  }
  // A file below a link would be written through that link: refuse.
  for (const p of seen) {
    const parts = p.split('/')
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/')
      if (links.has(parent)) throw bad(`${JSON.stringify(p)} lies below the link ${JSON.stringify(parent)}`)
    }
  }
}
