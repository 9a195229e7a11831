/**
 * Where datasets live in the object store (all keys relative to the store URL):
 *
 *   objects/sha256/<ab>/<sha256>             file contents, one object per distinct content, shared
 *                                            by every dataset (so unchanged files upload nothing)
 *   datasets/<manifest-sha256>/manifest.json the manifest, written LAST: a dataset without it does
 *                                            not exist, and a killed staging run just resumes
 *   datasets/names/<NAME>/<manifest-sha256>.json
 *                                            the name index: one small entry per staged version,
 *                                            so two writers never edit the same object
 *
 * A reference is `ds:NAME@<first 12 hex of the manifest hash>`; `ds:NAME` means its newest version.
 */
import {UsageError} from '../errors'

export const OBJECTS_PREFIX = 'objects/sha256/'
export const DATASETS_PREFIX = 'datasets/'
export const NAMES_PREFIX = 'datasets/names/'
export const SHORT_HASH = 12

export function objectKey(hash: string): string {
  return `${OBJECTS_PREFIX}${hash.slice(0, 2)}/${hash}`
}

export function hashOfObjectKey(key: string): string | undefined {
  const match = /^objects\/sha256\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(key)
  return match?.[1]
}

export function manifestKey(hash: string): string {
  return `${DATASETS_PREFIX}${hash}/manifest.json`
}

export function nameKey(name: string, hash: string): string {
  return `${NAMES_PREFIX}${name}/${hash}.json`
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/

export function checkName(name: string): string {
  if (!NAME.test(name)) {
    throw new UsageError(`Invalid dataset name "${name}".`, {hint: 'Names start with a letter or digit and use letters, digits, ".", "_" and "-" (at most 100).'})
  }
  return name
}

/** A name derived from a path's last segment, for `rfm data stage PATH` without --name. */
export function nameFromPath(p: string): string {
  const base =
    p
      .replace(/[\\/]+$/, '')
      .split(/[\\/]/)
      .pop() ?? ''
  const cleaned = base
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 100)
  return cleaned || 'dataset'
}

export function formatRef(name: string, hash: string): string {
  return `ds:${name}@${hash.slice(0, SHORT_HASH)}`
}

export interface ParsedRef {
  name?: string
  /** a hex prefix of the manifest hash (or all of it) */
  hash?: string
}

/** ds:NAME@HEX, ds:NAME, NAME@HEX, NAME, or a bare hex prefix (at least 6 digits). */
export function parseRef(ref: string): ParsedRef {
  const body = ref.startsWith('ds:') ? ref.slice(3) : ref
  const at = body.lastIndexOf('@')
  const bad = () => new UsageError(`Invalid dataset reference "${ref}".`, {hint: 'Use ds:NAME@HASH (as printed by rfm data stage), ds:NAME for the newest version, or a hash prefix.'})
  if (at >= 0) {
    const name = body.slice(0, at)
    const hash = body.slice(at + 1).toLowerCase()
    if (!NAME.test(name) || !/^[0-9a-f]{4,64}$/.test(hash)) throw bad()
    return {name, hash}
  }
  if (!ref.startsWith('ds:') && /^[0-9a-f]{6,64}$/i.test(body)) return {hash: body.toLowerCase()}
  if (!NAME.test(body)) throw bad()
  return {name: body}
}

export function isDatasetRef(value: string): boolean {
  return value.startsWith('ds:')
}
