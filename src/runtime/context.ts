import {CheckpointStore} from '../checkpoint/store'
import type {JobKind} from '../plugin-api'
import type {RunRecord} from '../runs/record'
import {RunStore} from '../runs/run-store'
import type {InterruptionWatcher} from './interruption'

/** What the runtime knows about the attempt it is running. */
export interface RuntimeContext {
  run: RunRecord
  kind: JobKind
  attempt: number
  storeUrl: string
  runs: RunStore
  checkpoints: CheckpointStore
  interruptions: InterruptionWatcher
  log(message: string): void
  event(type: string, data?: Record<string, unknown>): Promise<void>
}

export function runtimeLogger(): (message: string) => void {
  return (message) => process.stdout.write(`[rfm] ${message}\n`)
}

/** Test hook: a pause between a checkpoint's files and its manifest, so a test can kill mid-upload. */
export function faultPauseBeforeManifestMs(): number {
  return Number(process.env.RFM_FAULT_PAUSE_BEFORE_MANIFEST_MS ?? 0)
}

export {CheckpointStore, RunStore}
