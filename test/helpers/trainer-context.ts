/** An in-memory CheckpointIO and a TrainerContext around it, for in-process trainer tests. */
import {mkdtempSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import type {CheckpointFiles, CheckpointIO, SavedCheckpoint, TrainerContext} from '../../src/plugin-api'

export class MemoryCheckpoints implements CheckpointIO {
  readonly saved: (SavedCheckpoint & {final: boolean})[] = []

  async save(step: number, files: CheckpointFiles, state: Record<string, unknown>, options?: {final?: boolean}): Promise<void> {
    // copy, as a real store would: later mutation by the trainer must not leak into the checkpoint
    const copy: CheckpointFiles = {}
    for (const [name, bytes] of Object.entries(files)) copy[name] = Uint8Array.from(bytes)
    this.saved.push({step, files: copy, state: JSON.parse(JSON.stringify(state)), final: options?.final ?? false})
  }

  async loadLatest(): Promise<SavedCheckpoint | undefined> {
    if (this.saved.length === 0) return undefined
    const latest = this.saved.reduce((a, b) => (b.step >= a.step ? b : a))
    return {step: latest.step, files: latest.files, state: JSON.parse(JSON.stringify(latest.state))}
  }
}

export interface TestContext extends TrainerContext {
  metrics: {step: number; values: Record<string, number>}[]
  logs: string[]
}

/** `stopAfter`: stopRequested() turns true once that many metric records of `loss` were logged. */
export function trainerContext(config: Record<string, unknown>, checkpoints: CheckpointIO, options: {stopAfterSteps?: number; workDir?: string} = {}): TestContext {
  const metrics: TestContext['metrics'] = []
  const logs: string[] = []
  let steps = 0
  return {
    runId: 'test-run',
    attempt: 1,
    config,
    checkpoints,
    workDir: options.workDir ?? mkdtempSync(path.join(os.tmpdir(), 'rfm-trainer-')),
    stopRequested: () => options.stopAfterSteps !== undefined && steps >= options.stopAfterSteps,
    logMetrics(step, values) {
      metrics.push({step, values})
      if ('loss' in values) steps += 1
    },
    log(message) {
      logs.push(message)
    },
    metrics,
    logs,
  }
}
