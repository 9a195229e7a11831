import {promises as fs} from 'node:fs'
import * as path from 'node:path'

import {downloadFile, fileSignature, UnstableFileError, uploadFile} from '../store/transfer'
import type {ObjectStore} from '../store/types'
import {checkRelativePath, type CheckpointManifest, parseStepPrefix, sha256, sha256Async, stepPrefix} from './manifest'

export interface CommittedCheckpoint {
  step: number
  manifest: CheckpointManifest
}

export interface RetentionPolicy {
  /** keep this many newest checkpoints (besides best and final); undefined keeps all */
  saveTotalLimit?: number
  /** metric that picks `best`, e.g. eval_loss */
  bestMetric?: string
  greaterIsBetter?: boolean
}

export interface Pointer {
  step: number
  metric?: number
}

/**
 * The checkpoints of one run in the object store, with the commit protocol of DESIGN.md: every file
 * is written first, manifest.json (size and sha256 of each file) last. A folder without a manifest,
 * or whose files do not match it, is not a checkpoint. `final.json` and `best.json` point at steps
 * that retention never deletes.
 */
export class CheckpointStore {
  constructor(
    readonly store: ObjectStore,
    readonly runId: string,
    private readonly warn: (message: string) => void = () => {},
    /** test hook: pause between the files and the manifest, so a test can kill mid-upload */
    private readonly pauseBeforeManifestMs = 0,
  ) {}

  private get root(): string {
    return `runs/${this.runId}/checkpoints/`
  }

  async commit(step: number, files: Iterable<[string, Uint8Array]>, options: {attempt?: number; metrics?: Record<string, number>} = {}): Promise<CheckpointManifest> {
    const prefix = stepPrefix(this.runId, step)
    // A previous attempt may have left a manifest for this step (it committed, then was killed
    // before doing more work). Uncommit it first so the folder is never a mix of two saves.
    await this.store.delete(prefix + 'manifest.json')
    // Files are written and hashed concurrently; only the manifest waits for all of them.
    const entries: CheckpointManifest['files'] = await Promise.all(
      [...files].map(async ([file, data]) => {
        checkRelativePath(file)
        const [, digest] = await Promise.all([this.store.put(prefix + file, data), sha256Async(data)])
        return {path: file, size: data.byteLength, sha256: digest}
      }),
    )
    return this.writeManifest(step, entries, options)
  }

  /**
   * Commits a checkpoint from files on disk, streaming each (bounded memory, any size) and hashing it
   * in the same read. Every file must be stable across its read, and still unchanged once all are
   * sent; otherwise UnstableFileError, nothing is committed, and the caller tries again later.
   * Up to `parallel` files go up at once.
   */
  async commitFiles(step: number, folder: string, files: string[], options: {attempt?: number; metrics?: Record<string, number>; parallel?: number} = {}): Promise<CheckpointManifest> {
    const prefix = stepPrefix(this.runId, step)
    await this.store.delete(prefix + 'manifest.json')
    const signatures = new Map<string, string>()
    const entries: CheckpointManifest['files'] = []
    const queue = [...files]
    const worker = async () => {
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
        checkRelativePath(file)
        const local = path.join(folder, ...file.split('/'))
        signatures.set(file, fileSignature(await fs.stat(local)))
        const {size, sha256: digest} = await uploadFile(this.store, prefix + file, local)
        entries.push({path: file, size, sha256: digest})
      }
    }
    await Promise.all(Array.from({length: Math.max(1, Math.min(options.parallel ?? 4, files.length))}, worker))
    // A file sent first may have been rewritten while later ones were read: check all of them again.
    for (const [file, signature] of signatures) {
      const local = path.join(folder, ...file.split('/'))
      const now = await fs.stat(local).catch(() => undefined)
      if (!now || fileSignature(now) !== signature) throw new UnstableFileError(local, 'it changed while the checkpoint was sent')
    }
    return this.writeManifest(step, entries, options)
  }

  private async writeManifest(step: number, entries: CheckpointManifest['files'], options: {attempt?: number; metrics?: Record<string, number>}): Promise<CheckpointManifest> {
    const manifest: CheckpointManifest = {
      schemaVersion: 1,
      step,
      createdAt: new Date().toISOString(),
      ...(options.attempt ? {attempt: options.attempt} : {}),
      files: entries.sort((a, b) => (a.path < b.path ? -1 : 1)),
      ...(options.metrics ? {metrics: options.metrics} : {}),
    }
    if (this.pauseBeforeManifestMs > 0) await new Promise((resolve) => setTimeout(resolve, this.pauseBeforeManifestMs))
    await this.store.put(stepPrefix(this.runId, step) + 'manifest.json', JSON.stringify(manifest, null, 2) + '\n')
    return manifest
  }

  /**
   * Streams a checkpoint's files into `dir` (bounded memory), checking each against the manifest.
   * Returns false, leaving no partial file behind, when any file is missing or differs.
   */
  async restoreTo(checkpoint: CommittedCheckpoint, dir: string): Promise<boolean> {
    const prefix = stepPrefix(this.runId, checkpoint.step)
    for (const entry of checkpoint.manifest.files) {
      const local = path.join(dir, ...checkRelativePath(entry.path).split('/'))
      const got = await downloadFile(this.store, prefix + entry.path, local)
      if (!got || got.size !== entry.size || got.sha256 !== entry.sha256) {
        await fs.rm(local, {force: true})
        this.warn(`checkpoint step ${checkpoint.step} is damaged (${entry.path} ${got ? 'does not match its manifest' : 'is missing'}); skipping it`)
        return false
      }
    }
    return true
  }

  /** Committed checkpoints (those with a readable manifest), oldest first. Files are not verified here. */
  async list(): Promise<CommittedCheckpoint[]> {
    const {prefixes} = await this.store.list(this.root, {delimited: true})
    const found: CommittedCheckpoint[] = []
    for (const prefix of prefixes) {
      const step = parseStepPrefix(prefix)
      if (step === undefined) continue
      const manifest = await this.readManifest(step)
      if (manifest) found.push({step, manifest})
    }
    return found.sort((a, b) => a.step - b.step)
  }

  private async readManifest(step: number): Promise<CheckpointManifest | undefined> {
    const bytes = await this.store.get(stepPrefix(this.runId, step) + 'manifest.json')
    if (!bytes) return undefined
    try {
      const manifest = JSON.parse(bytes.toString('utf8')) as CheckpointManifest
      return manifest.step === step && Array.isArray(manifest.files) ? manifest : undefined
    } catch {
      return undefined
    }
  }

  /** Reads every file of a checkpoint and checks it against the manifest; undefined if any differs. */
  async read(checkpoint: CommittedCheckpoint): Promise<Map<string, Buffer> | undefined> {
    const prefix = stepPrefix(this.runId, checkpoint.step)
    const files = new Map<string, Buffer>()
    for (const entry of checkpoint.manifest.files) {
      const data = await this.store.get(prefix + checkRelativePath(entry.path))
      if (!data || data.length !== entry.size || sha256(data) !== entry.sha256) {
        this.warn(`checkpoint step ${checkpoint.step} is damaged (${entry.path} ${data ? 'does not match its manifest' : 'is missing'}); skipping it`)
        return undefined
      }
      files.set(entry.path, data)
    }
    return files
  }

  /** The newest committed checkpoint whose files verify, with its files; damaged ones are skipped. */
  async latest(): Promise<(CommittedCheckpoint & {files: Map<string, Buffer>}) | undefined> {
    const all = await this.list()
    for (let i = all.length - 1; i >= 0; i--) {
      const files = await this.read(all[i])
      if (files) return {...all[i], files}
    }
    return undefined
  }

  /**
   * Streams the newest committed checkpoint that verifies into `dirFor(step)` (bounded memory);
   * damaged ones are skipped (their partial files removed by the caller's next restore).
   */
  async restoreLatestTo(dirFor: (step: number) => string): Promise<CommittedCheckpoint | undefined> {
    const all = await this.list()
    for (let i = all.length - 1; i >= 0; i--) {
      if (await this.restoreTo(all[i], dirFor(all[i].step))) return all[i]
    }
    return undefined
  }

  async pointer(name: 'final' | 'best'): Promise<Pointer | undefined> {
    const bytes = await this.store.get(this.root + `${name}.json`)
    return bytes ? (JSON.parse(bytes.toString('utf8')) as Pointer) : undefined
  }

  async setPointer(name: 'final' | 'best', pointer: Pointer): Promise<void> {
    await this.store.put(this.root + `${name}.json`, JSON.stringify(pointer) + '\n')
  }

  /** Updates `best` from a newly committed checkpoint's metrics. */
  async updateBest(checkpoint: CommittedCheckpoint, policy: RetentionPolicy): Promise<void> {
    const value = policy.bestMetric ? checkpoint.manifest.metrics?.[policy.bestMetric] : undefined
    if (value === undefined || !Number.isFinite(value)) return
    const current = await this.pointer('best')
    const better = current?.metric === undefined || (policy.greaterIsBetter ? value > current.metric : value < current.metric)
    if (better) await this.setPointer('best', {step: checkpoint.step, metric: value})
  }

  /**
   * Deletes checkpoints beyond the `saveTotalLimit` newest, never `best`, `final` or `protect` (the
   * one being resumed from). The manifest goes first, so a half-deleted folder is not a checkpoint.
   */
  async applyRetention(policy: RetentionPolicy, protect: number[] = []): Promise<number[]> {
    if (policy.saveTotalLimit === undefined) return []
    const all = await this.list()
    const keep = new Set<number>(protect)
    for (const name of ['best', 'final'] as const) {
      const p = await this.pointer(name)
      if (p) keep.add(p.step)
    }
    const newest = all.slice(-policy.saveTotalLimit).map((c) => c.step)
    const removed: number[] = []
    for (const checkpoint of all) {
      if (keep.has(checkpoint.step) || newest.includes(checkpoint.step)) continue
      await this.delete(checkpoint.step)
      removed.push(checkpoint.step)
    }
    return removed
  }

  /**
   * Removes step folders without a manifest whose newest object is older than `graceMs`: what a
   * commit killed midway left behind (a commit in progress writes its files first, so its folder
   * is fresh). Returns the steps removed.
   */
  async removeAbandoned(graceMs = 10 * 60_000, now = Date.now()): Promise<number[]> {
    const {prefixes} = await this.store.list(this.root, {delimited: true})
    const removed: number[] = []
    for (const prefix of prefixes) {
      const step = parseStepPrefix(prefix)
      if (step === undefined || (await this.store.head(prefix + 'manifest.json'))) continue
      const {objects} = await this.store.list(prefix)
      if (objects.some((o) => now - o.modified.getTime() < graceMs)) continue
      for (const object of objects) await this.store.delete(object.key)
      removed.push(step)
    }
    return removed
  }

  async delete(step: number): Promise<void> {
    const prefix = stepPrefix(this.runId, step)
    await this.store.delete(prefix + 'manifest.json')
    for (const object of (await this.store.list(prefix)).objects) await this.store.delete(object.key)
  }
}
