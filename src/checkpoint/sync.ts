import {promises as fs} from 'node:fs'
import * as path from 'node:path'

import {createReadStream} from 'node:fs'
import {createHash} from 'node:crypto'
import {pipeline} from 'node:stream/promises'

import {UnstableFileError} from '../store/transfer'
import {completeHfFolders, HF_FOLDER, setAside} from './adopt'
import type {CheckpointManifest} from './manifest'
import type {CheckpointStore, CommittedCheckpoint, RetentionPolicy} from './store'

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

/**
 * Mirrors an external trainer's checkpoints to the store. Before the trainer starts, checkpoints
 * already on disk at the run's first start are adopted; on a restart the newest committed
 * checkpoint is restored into place (the store is the truth: a local checkpoint that never
 * committed may be torn, so it is moved aside, never deleted). While it runs, each complete
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
  /** the restored step was adopted from checkpoints already on disk at the run's first start */
  adopted = false

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

  /**
   * Before the trainer starts: on the run's first start, adopts the complete checkpoints already in
   * dir (see ./adopt); on a restart, restores the newest committed checkpoint into place, streamed
   * file by file (a checkpoint may hold files of many GB), and moves aside the local ones the store
   * does not hold. Nothing local is ever deleted.
   */
  async restore(): Promise<number | undefined> {
    await fs.mkdir(this.spec.dir, {recursive: true})
    const committed = await this.checkpoints.list()
    if (committed.length === 0 && this.attempt === 1) {
      // first start: what is on disk is the user's (adopted if complete, else left as it is)
      const step = await this.adoptLocal()
      this.adopted = step !== undefined
      this.restoredStep = step
      return step
    }
    const latest = this.spec.layout === 'hf' ? await this.restoreFolder(committed) : await this.restoreFile(committed)
    this.restoredStep = latest?.step
    if (this.spec.layout === 'file') this.nextFileStep = (committed.at(-1)?.step ?? 0) + 1
    return latest?.step
  }

  /** Commits the checkpoints found on disk at the first start; the newest step, or undefined if none. */
  private async adoptLocal(): Promise<number | undefined> {
    if (this.spec.layout === 'hf') {
      const found = await completeHfFolders(this.spec.dir, this.spec.completeMarker)
      for (const {step, name} of found) {
        const folder = path.join(this.spec.dir, name)
        const signature = await folderSignature(folder)
        const manifest = await this.checkpoints.commitFiles(step, folder, await listFiles(folder), {attempt: this.attempt, metrics: await readHfMetrics(folder)})
        this.uploaded.set(name, signature)
        await this.afterCommit(step, manifest)
      }
      return found.at(-1)?.step
    }
    const target = path.join(this.spec.dir, this.fileName())
    const signature = await this.signature(target)
    if (!signature) return undefined
    const manifest = await this.checkpoints.commitFiles(1, this.spec.dir, [this.fileName()], {attempt: this.attempt})
    await this.afterCommit(1, manifest)
    this.fileSignature = signature
    this.nextFileStep = 2
    return 1
  }

  /** The newest committed checkpoint that restores intact, into `checkpoint-<step>/`; other local folders are set aside. */
  private async restoreFolder(committed: CommittedCheckpoint[]): Promise<CommittedCheckpoint | undefined> {
    for (let i = committed.length - 1; i >= 0; i--) {
      const checkpoint = committed[i]
      const keep = `checkpoint-${checkpoint.step}`
      for (const entry of await fs.readdir(this.spec.dir)) {
        if (HF_FOLDER.test(entry) && entry !== keep) await setAside(this.spec.dir, entry, this.attempt)
      }
      const folder = path.join(this.spec.dir, keep)
      // a local copy that differs from the committed one (a re-save cut short) is kept aside; the store's replaces it
      if (await fs.stat(folder).catch(() => undefined)) {
        if (await matchesManifest(folder, checkpoint.manifest)) {
          this.uploaded.set(keep, await folderSignature(folder))
          return checkpoint
        }
        await setAside(this.spec.dir, keep, this.attempt)
      }
      if (await this.checkpoints.restoreTo(checkpoint, folder)) {
        this.uploaded.set(keep, await folderSignature(folder))
        return checkpoint
      }
      await fs.rm(folder, {recursive: true, force: true}) // only what restoreTo just wrote
    }
    // nothing committed restores: no local checkpoint-N may be resumed from (it may be torn)
    for (const entry of await fs.readdir(this.spec.dir)) {
      if (HF_FOLDER.test(entry)) await setAside(this.spec.dir, entry, this.attempt)
    }
    return undefined
  }

  /** The newest committed checkpoint that restores intact, into the checkpoint file; a differing local file is set aside. */
  private async restoreFile(committed: CommittedCheckpoint[]): Promise<CommittedCheckpoint | undefined> {
    const target = path.join(this.spec.dir, this.fileName())
    for (let i = committed.length - 1; i >= 0; i--) {
      const checkpoint = committed[i]
      if (await this.signature(target)) {
        if (await matchesManifest(this.spec.dir, checkpoint.manifest)) {
          this.fileSignature = await this.signature(target)
          return checkpoint
        }
        await setAside(this.spec.dir, this.fileName(), this.attempt)
      }
      if (await this.checkpoints.restoreTo(checkpoint, this.spec.dir)) {
        this.fileSignature = await this.signature(target)
        return checkpoint
      }
    }
    if (await this.signature(target)) await setAside(this.spec.dir, this.fileName(), this.attempt)
    return undefined
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
        process.stderr.write(
          `[rfm] checkpoint${this.attemptedStep === undefined ? '' : ` step ${this.attemptedStep}`} could not be committed (failure ${this.failures} in a row; retrying in ${retryInSeconds}s): ${reason}\n`,
        )
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
    await this.onCommit(
      step,
      manifest.files.reduce((sum, f) => sum + f.size, 0),
      manifest.files.length,
    )
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

/** Whether folder holds exactly the manifest's files (sizes, then sha256 streamed). */
async function matchesManifest(folder: string, manifest: CheckpointManifest): Promise<boolean> {
  for (const entry of manifest.files) {
    const file = path.join(folder, ...entry.path.split('/'))
    const stat = await fs.stat(file).catch(() => undefined)
    if (!stat?.isFile() || stat.size !== entry.size) return false
    const hash = createHash('sha256')
    await pipeline(createReadStream(file), hash)
    if (hash.digest('hex') !== entry.sha256) return false
  }
  return true
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
