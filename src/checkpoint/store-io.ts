import type {CheckpointFiles, CheckpointIO, SavedCheckpoint} from './types'
import type {CheckpointStore, RetentionPolicy} from './store'

const STATE_FILE = 'trainer_state.json'

/** CheckpointIO for built-in trainers: named files + the trainer's JSON state, committed to the store. */
export class StoreCheckpointIO implements CheckpointIO {
  private resumedFrom: number | undefined

  constructor(
    private readonly checkpoints: CheckpointStore,
    private readonly policy: RetentionPolicy,
    private readonly attempt: number,
    private readonly onCommit: (step: number, bytes: number) => Promise<void> | void = () => {},
  ) {}

  async save(step: number, files: CheckpointFiles, state: Record<string, unknown>, options: {metrics?: Record<string, number>; final?: boolean} = {}): Promise<void> {
    if (STATE_FILE in files) throw new Error(`checkpoint file name ${STATE_FILE} is reserved for the trainer state`)
    const entries: Array<[string, Uint8Array]> = [...Object.entries(files), [STATE_FILE, Buffer.from(JSON.stringify(state))]]
    const manifest = await this.checkpoints.commit(step, entries, {attempt: this.attempt, metrics: options.metrics})
    await this.checkpoints.updateBest({step, manifest}, this.policy)
    if (options.final) await this.checkpoints.setPointer('final', {step})
    await this.checkpoints.applyRetention(this.policy, this.resumedFrom === undefined ? [step] : [step, this.resumedFrom])
    await this.onCommit(
      step,
      manifest.files.reduce((sum, f) => sum + f.size, 0),
    )
  }

  async loadLatest(): Promise<SavedCheckpoint | undefined> {
    const latest = await this.checkpoints.latest()
    if (!latest) return undefined
    this.resumedFrom = latest.step
    return savedFromFiles(latest.step, latest.files)
  }
}

/** A committed checkpoint's files as a trainer sees them: its files, and its JSON state apart. */
export function savedFromFiles(step: number, stored: Map<string, Buffer>): SavedCheckpoint {
  const files: CheckpointFiles = {}
  let state: Record<string, unknown> = {}
  for (const [name, data] of stored) {
    if (name === STATE_FILE) state = JSON.parse(data.toString('utf8')) as Record<string, unknown>
    else files[name] = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  }
  return {step, files, state}
}
