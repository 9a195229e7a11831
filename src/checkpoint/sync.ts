import {promises as fs} from 'node:fs'
import * as path from 'node:path'

import {UnstableFileError} from '../store/transfer'
import type {CheckpointManifest} from './manifest'
import type {CheckpointStore, RetentionPolicy} from './store'

/** Where an external trainer writes checkpoints, and how rfm tells one is complete. */
export interface ExternalCheckpointSpec {
  /** absolute folder the trainer writes to */
  dir: string
  /** `hf`: one folder per save, `checkpoint-<step>/`; `file`: one file, overwritten at each save */
  layout: 'hf' | 'file'
  /** with layout `file`: the file's name inside dir */
  file?: string
  /** with layout `hf`: a folder is complete once this file exists in it (written last by the trainer) */
  completeMarker: string
  /** arguments added to the trainer's command line when a checkpoint was restored; `{checkpoint}` becomes its local path */
  resumeArgs: string[]
  retention: RetentionPolicy
}

const HF_FOLDER = /^checkpoint-(\d+)$/

/**
 * Mirrors an external trainer's checkpoints to the store. Before the trainer starts, the local folder
 * is made to match the store (the store is the truth: a local checkpoint that never committed may be
 * torn) and the newest committed checkpoint is restored into place. While it runs, each complete
 * local checkpoint is uploaded once.
 */
export class CheckpointSync {
  /** hf folders committed, with the signature (sizes and mtimes) of what was committed */
  private uploaded = new Map<string, string>()
  /** hf folders seen complete once, with their signature: committed when the next poll sees the same */
  private pendingFolders = new Map<string, string>()
  private failures = 0
  private retryAt = 0
  private fileSignature: string | undefined
  private pendingSignature: string | undefined
  private nextFileStep = 1
  private settled = false
  private running: Promise<void> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined
  restoredStep: number | undefined

  constructor(
    private readonly spec: ExternalCheckpointSpec,
    private readonly checkpoints: CheckpointStore,
    private readonly attempt: number,
    private readonly onCommit: (step: number, bytes: number, files: number) => Promise<void> | void,
    /** a commit failed (not: a file was still being written); `failures` counts them in a row */
    private readonly onFailure: (failure: {step: number | undefined; reason: string; failures: number; retryInSeconds: number}) => Promise<void> | void = () => {},
  ) {}

  /** Consecutive failed commits (0 after a success). */
  get consecutiveFailures(): number {
    return this.failures
  }

  async restore(): Promise<number | undefined> {
    await fs.mkdir(this.spec.dir, {recursive: true})
    let latest: {step: number} | undefined
    if (this.spec.layout === 'hf') {
      for (const entry of await fs.readdir(this.spec.dir)) {
        if (HF_FOLDER.test(entry)) await fs.rm(path.join(this.spec.dir, entry), {recursive: true, force: true})
      }
      // Streamed to disk file by file (a checkpoint may hold files of many GB).
      latest = await this.checkpoints.restoreLatestTo((step) => path.join(this.spec.dir, `checkpoint-${step}`))
      if (latest) {
        const entry = `checkpoint-${latest.step}`
        this.uploaded.set(entry, await folderSignature(path.join(this.spec.dir, entry)))
      }
    } else {
      const target = path.join(this.spec.dir, this.fileName())
      await fs.rm(target, {force: true})
      latest = await this.checkpoints.restoreLatestTo(() => this.spec.dir)
      if (latest) this.fileSignature = await this.signature(target)
      this.nextFileStep = (latest?.step ?? 0) + 1
    }
    this.restoredStep = latest?.step
    return latest?.step
  }

  start(intervalMs = 500): void {
    this.timer = setInterval(() => void this.syncOnce(), intervalMs)
  }

  /**
   * Stops polling and uploads whatever is complete now. `trainerExited`: the trainer has ended by
   * itself (not SIGKILL), so a `file` checkpoint can no longer change and is uploaded without waiting
   * for a second poll — its last save, written just before exiting, would otherwise be lost.
   */
  async stop(options: {trainerExited?: boolean} = {}): Promise<void> {
    clearInterval(this.timer)
    if (options.trainerExited) this.settled = true
    this.retryAt = 0
    await this.syncOnce()
  }

  /**
   * One pass; passes never overlap. A failed commit is retried with exponential backoff (1 s
   * doubling to 60 s), not at every poll, and reported through onFailure; a file still being
   * written is not a failure, only a reason to look again at the next poll.
   */
  syncOnce(): Promise<void> {
    this.running = this.running.then(async () => {
      if (Date.now() < this.retryAt) return
      this.attemptedStep = undefined
      try {
        await (this.spec.layout === 'hf' ? this.syncFolders() : this.syncFile())
      } catch (error) {
        if (error instanceof UnstableFileError) return
        this.failures++
        const retryInSeconds = Math.min(60, 2 ** (this.failures - 1))
        this.retryAt = Date.now() + retryInSeconds * 1000
        const reason = (error as Error).message
        process.stderr.write(`[rfm] checkpoint${this.attemptedStep === undefined ? '' : ` step ${this.attemptedStep}`} could not be committed (failure ${this.failures} in a row; retrying in ${retryInSeconds}s): ${reason}\n`)
        await Promise.resolve(this.onFailure({step: this.attemptedStep, reason, failures: this.failures, retryInSeconds})).catch(() => undefined)
      }
    })
    return this.running
  }

  private attemptedStep: number | undefined

  /** true while a complete local checkpoint has not been committed (after a failure, or not yet seen stable) */
  async hasUncommitted(): Promise<boolean> {
    if (this.spec.layout === 'file') {
      const signature = await this.signature(path.join(this.spec.dir, this.fileName()))
      return signature !== undefined && signature !== this.fileSignature
    }
    for (const entry of await fs.readdir(this.spec.dir).catch(() => [] as string[])) {
      if (!HF_FOLDER.test(entry)) continue
      const folder = path.join(this.spec.dir, entry)
      if (!(await fs.stat(path.join(folder, this.spec.completeMarker)).catch(() => undefined))) continue
      if (this.uploaded.get(entry) !== (await folderSignature(folder).catch(() => undefined))) return true
    }
    return false
  }

  /**
   * After the trainer exited: keeps trying (with the same backoff) until every complete checkpoint
   * is committed or `deadline` passes. Returns true when nothing is left uncommitted.
   */
  async drain(deadline: number): Promise<boolean> {
    this.settled = true
    for (;;) {
      this.retryAt = 0
      await this.syncOnce()
      if (!(await this.hasUncommitted())) return true
      const wait = Math.min(60_000, 1000 * 2 ** Math.max(0, this.failures - 1))
      if (Date.now() + wait > deadline) return false
      await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }

  /** Commit the newest complete checkpoint first (under a spot notice the window is 2 minutes). */
  newestFirst = false

  /**
   * A folder is committed once its marker exists and its files' sizes and mtimes are the same at two
   * polls in a row (or the trainer has exited), and each file is stable across its own read
   * (CheckpointStore.commitFiles). A folder rewritten after its commit (a second save of the same
   * step, e.g. on SIGTERM) is committed again once it is stable.
   */
  private async syncFolders(): Promise<void> {
    const entries = await fs.readdir(this.spec.dir).catch(() => [] as string[])
    const ready: Array<[number, string, string]> = []
    for (const entry of entries) {
      const match = HF_FOLDER.exec(entry)
      if (!match) continue
      const folder = path.join(this.spec.dir, entry)
      const marker = await fs.stat(path.join(folder, this.spec.completeMarker)).catch(() => undefined)
      if (!marker) continue
      const signature = await folderSignature(folder).catch(() => undefined)
      if (!signature || this.uploaded.get(entry) === signature) continue
      if (!this.settled && this.pendingFolders.get(entry) !== signature) {
        this.pendingFolders.set(entry, signature)
        continue
      }
      ready.push([Number(match[1]), entry, signature])
    }
    ready.sort((a, b) => (this.newestFirst ? b[0] - a[0] : a[0] - b[0]))
    for (const [step, entry, signature] of ready) {
      const folder = path.join(this.spec.dir, entry)
      this.attemptedStep = step
      const files = await listFiles(folder)
      const manifest = await this.checkpoints.commitFiles(step, folder, files, {attempt: this.attempt, metrics: await readHfMetrics(folder)})
      this.uploaded.set(entry, signature)
      this.pendingFolders.delete(entry)
      await this.afterCommit(step, manifest)
    }
  }

  private async syncFile(): Promise<void> {
    const target = path.join(this.spec.dir, this.fileName())
    const signature = await this.signature(target)
    // A file counts as written once it is unchanged across two polls (trainers should also write it
    // to a temp name and rename it, which makes every observed version whole).
    if (!signature || signature === this.fileSignature) return
    if (signature !== this.pendingSignature && !this.settled) {
      this.pendingSignature = signature
      return
    }
    this.attemptedStep = this.nextFileStep
    const manifest = await this.checkpoints.commitFiles(this.nextFileStep, this.spec.dir, [this.fileName()], {attempt: this.attempt})
    await this.afterCommit(this.nextFileStep, manifest)
    this.nextFileStep++
    this.fileSignature = signature
  }

  private async afterCommit(step: number, manifest: CheckpointManifest): Promise<void> {
    this.failures = 0
    await this.checkpoints.updateBest({step, manifest}, this.spec.retention)
    const protect = [step, ...(this.restoredStep === undefined ? [] : [this.restoredStep])]
    await this.checkpoints.applyRetention(this.spec.retention, protect)
    await this.onCommit(step, manifest.files.reduce((sum, f) => sum + f.size, 0), manifest.files.length)
  }

  private fileName(): string {
    return this.spec.file ?? 'checkpoint.bin'
  }

  private async signature(file: string): Promise<string | undefined> {
    const stat = await fs.stat(file).catch(() => undefined)
    return stat ? `${stat.size}:${stat.mtimeMs}` : undefined
  }
}

/** Sizes and mtimes of every file in a folder: equal signatures at two polls mean nothing is writing. */
async function folderSignature(folder: string): Promise<string> {
  const parts: string[] = []
  for (const file of await listFiles(folder)) {
    const stat = await fs.stat(path.join(folder, file))
    parts.push(`${file}=${stat.size}:${stat.mtimeMs}`)
  }
  return parts.join('|')
}

async function listFiles(folder: string, prefix = ''): Promise<string[]> {
  const out: string[] = []
  for (const entry of await fs.readdir(path.join(folder, prefix), {withFileTypes: true})) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name
    if (entry.isDirectory()) out.push(...(await listFiles(folder, rel)))
    else if (entry.isFile()) out.push(rel)
  }
  return out.sort()
}

/** Hugging Face's trainer_state.json: the newest log_history entry's numeric values. */
async function readHfMetrics(folder: string): Promise<Record<string, number> | undefined> {
  try {
    const state = JSON.parse(await fs.readFile(path.join(folder, 'trainer_state.json'), 'utf8')) as {log_history?: Array<Record<string, unknown>>}
    const merged: Record<string, number> = {}
    for (const entry of state.log_history ?? []) {
      for (const [key, value] of Object.entries(entry)) if (typeof value === 'number') merged[key] = value
    }
    return Object.keys(merged).length > 0 ? merged : undefined
  } catch {
    return undefined
  }
}
