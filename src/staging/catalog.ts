/**
 * Finding datasets: references → manifest hashes, the name index, and removal/garbage collection.
 * `rm` deletes a name entry, and the manifest only once no other name and no run refers to it;
 * objects are never deleted by `rm`, only by `gc` when no manifest lists them.
 */
import {BackendError, NotFoundError, UsageError} from '../errors'
import type {ObjectStore} from '../store/types'
import {forEachLimit, retryingStore} from './concurrency'
import {DATASETS_PREFIX, formatRef, hashOfObjectKey, manifestKey, nameKey, NAMES_PREFIX, OBJECTS_PREFIX, parseRef, SHORT_HASH} from './layout'
import {readLeases} from './lease'
import {parseManifest, type Manifest} from './manifest'
import type {NameEntry} from './stage'

export interface DatasetView {
  hash: string
  short: string
  name?: string
  ref: string
  root: 'dir' | 'file'
  files: number
  links: number
  bytes: number
  stagedAt?: string
  source?: string
}

export async function listNameEntries(given: ObjectStore): Promise<NameEntry[]> {
  const store = retryingStore(given)
  const {objects} = await store.list(NAMES_PREFIX)
  const entries: NameEntry[] = []
  await forEachLimit(objects, 16, async (object) => {
    const bytes = await store.get(object.key)
    if (!bytes) return
    try {
      entries.push(JSON.parse(bytes.toString('utf8')) as NameEntry)
    } catch {
      // a damaged entry hides one name, it does not break listing
    }
  })
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : b.stagedAt.localeCompare(a.stagedAt)))
}

export async function listManifestHashes(given: ObjectStore): Promise<string[]> {
  const store = retryingStore(given)
  const {prefixes} = await store.list(DATASETS_PREFIX, {delimited: true})
  const hashes = prefixes.map((p) => p.slice(DATASETS_PREFIX.length, -1)).filter((h) => /^[0-9a-f]{64}$/.test(h))
  // A prefix without its manifest is an interrupted stage, not a dataset.
  const present: string[] = []
  await forEachLimit(hashes, 16, async (hash) => {
    if (await store.head(manifestKey(hash))) present.push(hash)
  })
  return present.sort()
}

export async function readManifest(given: ObjectStore, hash: string): Promise<Manifest> {
  const store = retryingStore(given)
  const bytes = await store.get(manifestKey(hash))
  if (!bytes) throw new NotFoundError(`Dataset ${hash.slice(0, SHORT_HASH)} has no manifest in ${store.url}.`, {hint: 'List datasets with rfm data ls.'})
  return parseManifest(bytes, hash)
}

export interface Resolved {
  hash: string
  name?: string
  entry?: NameEntry
}

/** A reference (ds:NAME@HASH, ds:NAME, or a hash prefix) → one manifest hash; ambiguity is an error. */
export async function resolveRef(given: ObjectStore, ref: string): Promise<Resolved> {
  const store = retryingStore(given)
  const parsed = parseRef(ref)
  if (parsed.name) {
    const {objects} = await store.list(`${NAMES_PREFIX}${parsed.name}/`)
    const hashes = objects.map((o) => o.key.slice(`${NAMES_PREFIX}${parsed.name}/`.length).replace(/\.json$/, ''))
    const matching = parsed.hash ? hashes.filter((h) => h.startsWith(parsed.hash!)) : hashes
    if (matching.length === 0) {
      throw new NotFoundError(`Dataset ${ref} does not exist in ${store.url}.`, {hint: 'List datasets with rfm data ls; stage one with rfm data stage PATH --name NAME.'})
    }
    const entries = (await Promise.all(matching.map(async (h) => (await store.get(nameKey(parsed.name!, h)))?.toString('utf8')))).flatMap((text, i) => {
      try {
        return text ? [JSON.parse(text) as NameEntry] : []
      } catch {
        return [{name: parsed.name!, hash: matching[i], ref: formatRef(parsed.name!, matching[i]), stagedAt: '', files: 0, bytes: 0, source: '', host: ''}]
      }
    })
    if (parsed.hash && entries.length > 1)
      throw ambiguous(
        ref,
        entries.map((e) => e.hash),
      )
    const newest = entries.sort((a, b) => b.stagedAt.localeCompare(a.stagedAt))[0]
    return {hash: newest.hash, name: parsed.name, entry: newest}
  }
  const matching = (await listManifestHashes(store)).filter((h) => h.startsWith(parsed.hash!))
  if (matching.length === 0) throw new NotFoundError(`No dataset with hash ${parsed.hash} in ${store.url}.`, {hint: 'List datasets with rfm data ls.'})
  if (matching.length > 1) throw ambiguous(ref, matching)
  return {hash: matching[0]}
}

function ambiguous(ref: string, hashes: string[]): UsageError {
  return new UsageError(`Dataset reference ${ref} is ambiguous: it matches ${hashes.map((h) => h.slice(0, SHORT_HASH)).join(', ')}.`, {hint: 'Give more hex digits of the hash.'})
}

export function viewOf(hash: string, manifest: Manifest, entry?: NameEntry): DatasetView {
  return {
    hash,
    short: hash.slice(0, SHORT_HASH),
    ...(entry ? {name: entry.name} : {}),
    ref: entry ? formatRef(entry.name, hash) : hash.slice(0, SHORT_HASH),
    root: manifest.root,
    files: manifest.files.length,
    links: manifest.links.length,
    bytes: manifest.files.reduce((sum, f) => sum + f.size, 0),
    ...(entry?.stagedAt ? {stagedAt: entry.stagedAt} : {}),
    ...(entry?.source ? {source: entry.source} : {}),
  }
}

/** Runs whose recorded config mentions a reference that resolves to `hash`. */
export async function runsReferencing(given: ObjectStore, hash: string): Promise<string[]> {
  const store = retryingStore(given)
  const {prefixes} = await store.list('runs/', {delimited: true})
  const found: string[] = []
  await forEachLimit(prefixes, 16, async (prefix) => {
    const bytes = await store.get(prefix + 'run.json')
    if (!bytes) return
    let config: unknown
    try {
      config = (JSON.parse(bytes.toString('utf8')) as {config?: unknown}).config
    } catch {
      return
    }
    if (collectRefs(config).some((ref) => refMatches(ref, hash))) found.push(prefix.slice('runs/'.length, -1))
  })
  return found.sort()
}

function collectRefs(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string' && value.startsWith('ds:')) out.push(value)
  else if (Array.isArray(value)) value.forEach((v) => collectRefs(v, out))
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => collectRefs(v, out))
  return out
}

function refMatches(ref: string, hash: string): boolean {
  try {
    const parsed = parseRef(ref)
    return Boolean(parsed.hash && hash.startsWith(parsed.hash))
  } catch {
    return false
  }
}

export interface RemoveResult {
  ref: string
  hash: string
  removedNames: string[]
  manifestRemoved: boolean
  /** why the manifest stayed, when it did */
  keptBecause?: string
}

export async function removeDataset(given: ObjectStore, ref: string): Promise<RemoveResult> {
  const store = retryingStore(given)
  const resolved = await resolveRef(store, ref)
  const entries = (await listNameEntries(store)).filter((e) => e.hash === resolved.hash)
  // ds:NAME@HASH removes that name's entry; a bare hash removes every name of that dataset.
  const removing = resolved.name ? entries.filter((e) => e.name === resolved.name) : entries
  for (const entry of removing) await store.delete(nameKey(entry.name, entry.hash))
  if (resolved.name && removing.length === 0) await store.delete(nameKey(resolved.name, resolved.hash))
  const otherNames = entries.filter((e) => !removing.includes(e)).map((e) => e.ref)
  const runs = await runsReferencing(store, resolved.hash)
  let keptBecause: string | undefined
  if (otherNames.length > 0) keptBecause = `also named ${otherNames.join(', ')}`
  else if (runs.length > 0) keptBecause = `used by run${runs.length > 1 ? 's' : ''} ${runs.join(', ')}`
  if (!keptBecause) await store.delete(manifestKey(resolved.hash))
  return {
    ref: resolved.name ? formatRef(resolved.name, resolved.hash) : resolved.hash.slice(0, SHORT_HASH),
    hash: resolved.hash,
    removedNames: removing.map((e) => e.ref),
    manifestRemoved: !keptBecause,
    ...(keptBecause ? {keptBecause} : {}),
  }
}

export interface GcResult {
  dryRun: boolean
  manifests: number
  objects: number
  deleted: number
  deletedBytes: number
  kept: number
  /** unreferenced but younger than the grace period (maybe a stage in progress) */
  tooYoung: number
  /** stages in progress (fresh leases): while there is one, no unreferenced object is deleted */
  stagingInProgress: number
  /** unreferenced objects kept because a stage is in progress */
  keptForStaging: number
  /** leftovers of killed writes: temp files (file store) and stale staging leases removed */
  leftovers: number
  leftoverBytes: number
}

/**
 * Deletes pool objects that no manifest lists. Objects younger than `minAgeMs` are kept: a
 * staging run in progress has uploaded objects whose manifest it has not written yet.
 */
export async function collectGarbage(given: ObjectStore, options: {dryRun?: boolean; minAgeMs?: number; now?: number} = {}): Promise<GcResult> {
  const store = retryingStore(given)
  const hashes = await listManifestHashes(store)
  const referenced = new Set<string>()
  for (const hash of hashes) {
    const manifest = await readManifest(store, hash).catch((error: unknown) => {
      // Never delete on a guess: a manifest that cannot be read stops the collection.
      throw new BackendError(`gc stopped: the manifest of ${hash.slice(0, SHORT_HASH)} cannot be read (${(error as Error).message}).`, {hint: 'Remove or repair that dataset first (rfm data rm).'})
    })
    for (const file of manifest.files) referenced.add(file.sha256)
  }
  const {objects} = await store.list(OBJECTS_PREFIX)
  const cutoff = (options.now ?? Date.now()) - (options.minAgeMs ?? 3600_000)
  const leases = await readLeases(store, options.now)
  const result: GcResult = {
    dryRun: Boolean(options.dryRun),
    manifests: hashes.length,
    objects: objects.length,
    deleted: 0,
    deletedBytes: 0,
    kept: 0,
    tooYoung: 0,
    stagingInProgress: leases.fresh.length,
    keptForStaging: 0,
    leftovers: 0,
    leftoverBytes: 0,
  }
  let doomed = objects.filter((object) => {
    const hash = hashOfObjectKey(object.key)
    if (!hash || referenced.has(hash)) {
      result.kept++
      return false
    }
    if (object.modified.getTime() > cutoff) {
      result.tooYoung++
      return false
    }
    return true
  })
  // A stage in progress may rely on any unreferenced object (uploaded, or found present): keep all.
  if (leases.fresh.length > 0) {
    result.keptForStaging = doomed.length
    doomed = []
  }
  if (!options.dryRun) await forEachLimit(doomed, 16, (object) => store.delete(object.key))
  // Leftovers of killed writers: stale leases, and the file store's temp files of killed writes.
  result.leftovers += leases.stale.length
  if (!options.dryRun) for (const key of leases.stale) await store.delete(key)
  const temp = given as {removeStaleTempFiles?(olderThanMs: number, dryRun: boolean): Promise<{files: number; bytes: number}>}
  if (temp.removeStaleTempFiles) {
    const removed = await temp.removeStaleTempFiles(options.minAgeMs ?? 3600_000, Boolean(options.dryRun))
    result.leftovers += removed.files
    result.leftoverBytes += removed.bytes
  }
  result.deleted = doomed.length
  result.deletedBytes = doomed.reduce((sum, o) => sum + o.size, 0)
  return result
}
