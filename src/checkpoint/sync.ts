import {promises as fs} from 'node:fs'
import * as path from 'node:path'

import {completeHfFolders, HF_FOLDER, setAside} from './adopt'
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


/**
 * Mirrors an external trainer's checkpoints to the store. Before the trainer starts, checkpoints
 * already on disk at the run's first start are adopted; on a restart the newest committed
 * checkpoint is restored into place (the store is the truth: a local checkpoint that never
 * committed may be torn, so it is moved aside, never deleted). While it runs, each complete
 * local checkpoint is uploaded once.
 */
export class CheckpointSync {
  private uploaded = new Set<string>()
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
  ) {}

  /**
   * Before the trainer starts: on the run's first start, adopts the complete checkpoints already in
   * dir (see ./adopt); on a restart, restores the newest committed checkpoint into place and moves
   * aside the local ones the store does not hold. Nothing local is ever deleted.
   */
  async restore(): Promise<number | undefined> {
    await fs.mkdir(this.spec.dir, {recursive: true})
    const latest = await this.checkpoints.latest()
    if (!latest && this.attempt === 1) {
      // first start: what is on disk is the user's (adopted if complete, else left as it is)
      const step = await this.adoptLocal()
      this.adopted = step !== undefined
      this.restoredStep = step
      return step
    }
    if (this.spec.layout === 'hf') await this.restoreFolder(latest)
    else await this.restoreFile(latest)
    this.restoredStep = latest?.step
    return latest?.step
  }

  /** Commits the checkpoints found on disk at the first start; the newest step, or undefined if none. */
  private async adoptLocal(): Promise<number | undefined> {
    if (this.spec.layout === 'hf') {
      const found = await completeHfFolders(this.spec.dir, this.spec.completeMarker)
      for (const {step, name} of found) {
        const folder = path.join(this.spec.dir, name)
        const files: Array<[string, Buffer]> = []
        for (const file of await listFiles(folder)) files.push([file, await fs.readFile(path.join(folder, file))])
        await this.commit(step, files, await readHfMetrics(folder))
        this.uploaded.add(name)
      }
      return found.at(-1)?.step
    }
    const target = path.join(this.spec.dir, this.fileName())
    const signature = await this.signature(target)
    if (!signature) return undefined
    await this.commit(1, [[this.fileName(), await fs.readFile(target)]], undefined)
    this.fileSignature = signature
    this.nextFileStep = 2
    return 1
  }

  private async restoreFolder(latest: Awaited<ReturnType<CheckpointStore['latest']>>): Promise<void> {
    const keep = latest ? `checkpoint-${latest.step}` : undefined
    for (const entry of await fs.readdir(this.spec.dir)) {
      if (HF_FOLDER.test(entry) && entry !== keep) await setAside(this.spec.dir, entry, this.attempt)
    }
    if (!latest || !keep) return
    const folder = path.join(this.spec.dir, keep)
    // a local copy that differs from the committed one (a re-save cut short) is kept aside; the store's replaces it
    if (await fs.stat(folder).catch(() => undefined)) {
      if (await sameFiles(folder, latest.files)) {
        this.uploaded.add(keep)
        return
      }
      await setAside(this.spec.dir, keep, this.attempt)
    }
    for (const [file, data] of latest.files) {
      await fs.mkdir(path.dirname(path.join(folder, file)), {recursive: true})
      await fs.writeFile(path.join(folder, file), data)
    }
    this.uploaded.add(keep)
  }

  private async restoreFile(latest: Awaited<ReturnType<CheckpointStore['latest']>>): Promise<void> {
    const target = path.join(this.spec.dir, this.fileName())
    const data = latest?.files.get(this.fileName())
    if (await this.signature(target)) {
      if (data && (await fs.readFile(target)).equals(data)) {
        this.fileSignature = await this.signature(target)
        this.nextFileStep = (latest?.step ?? 0) + 1
        return
      }
      await setAside(this.spec.dir, this.fileName(), this.attempt)
    }
    if (data) {
      await fs.writeFile(target, data)
      this.fileSignature = await this.signature(target)
    }
    this.nextFileStep = (latest?.step ?? 0) + 1
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
    await this.syncOnce()
  }

  /** One pass; passes never overlap. */
  syncOnce(): Promise<void> {
    this.running = this.running.then(() => (this.spec.layout === 'hf' ? this.syncFolders() : this.syncFile())).catch((error: Error) => {
      process.stderr.write(`[rfm] checkpoint upload failed, will retry: ${error.message}\n`)
    })
    return this.running
  }

  private async syncFolders(): Promise<void> {
    const entries = await fs.readdir(this.spec.dir).catch(() => [] as string[])
    const complete: Array<[number, string]> = []
    for (const entry of entries) {
      const match = HF_FOLDER.exec(entry)
      if (!match || this.uploaded.has(entry)) continue
      const marker = await fs.stat(path.join(this.spec.dir, entry, this.spec.completeMarker)).catch(() => undefined)
      if (marker) complete.push([Number(match[1]), entry])
    }
    for (const [step, entry] of complete.sort((a, b) => a[0] - b[0])) {
      const folder = path.join(this.spec.dir, entry)
      const files: Array<[string, Buffer]> = []
      for (const file of await listFiles(folder)) files.push([file, await fs.readFile(path.join(folder, file))])
      await this.commit(step, files, await readHfMetrics(folder))
      this.uploaded.add(entry)
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
    const data = await fs.readFile(target)
    if ((await this.signature(target)) !== signature) return
    await this.commit(this.nextFileStep, [[this.fileName(), data]], undefined)
    this.nextFileStep++
    this.fileSignature = signature
  }

  private async commit(step: number, files: Array<[string, Buffer]>, metrics: Record<string, number> | undefined): Promise<void> {
    const manifest = await this.checkpoints.commit(step, files, {attempt: this.attempt, metrics})
    await this.checkpoints.updateBest({step, manifest}, this.spec.retention)
    const protect = [step, ...(this.restoredStep === undefined ? [] : [this.restoredStep])]
    await this.checkpoints.applyRetention(this.spec.retention, protect)
    await this.onCommit(step, files.reduce((sum, [, d]) => sum + d.length, 0), files.length)
  }

  private fileName(): string {
    return this.spec.file ?? 'checkpoint.bin'
  }

  private async signature(file: string): Promise<string | undefined> {
    const stat = await fs.stat(file).catch(() => undefined)
    return stat ? `${stat.size}:${stat.mtimeMs}` : undefined
  }
}

/** Whether folder holds exactly these files with these bytes. */
async function sameFiles(folder: string, files: Map<string, Buffer>): Promise<boolean> {
  const local = await listFiles(folder)
  if (local.length !== files.size) return false
  for (const file of local) {
    const data = files.get(file)
    if (!data || !(await fs.readFile(path.join(folder, file))).equals(data)) return false
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
