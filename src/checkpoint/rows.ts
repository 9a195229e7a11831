import {CheckpointStore} from './store'
import type {ObjectStore} from '../store/types'

/** One committed checkpoint as `rfm ckpt ls` shows it (and src/schemas/ckpt-ls.schema.json documents). */
export interface CheckpointRow {
  step: number
  createdAt: string
  attempt?: number
  files: number
  bytes: number
  metrics?: Record<string, number>
  tags: string[]
}

/** The committed checkpoints of a run (or of one array child, `<run>/array-<i>`), oldest first, with best and final tagged. */
export async function checkpointRows(store: ObjectStore, owner: string): Promise<CheckpointRow[]> {
  const checkpoints = new CheckpointStore(store, owner)
  const best = await checkpoints.pointer('best')
  const final = await checkpoints.pointer('final')
  return (await checkpoints.list()).map(({step, manifest}) => ({
    step,
    createdAt: manifest.createdAt,
    ...(manifest.attempt ? {attempt: manifest.attempt} : {}),
    files: manifest.files.length,
    bytes: manifest.files.reduce((sum, f) => sum + f.size, 0),
    ...(manifest.metrics ? {metrics: manifest.metrics} : {}),
    tags: [...(best?.step === step ? ['best'] : []), ...(final?.step === step ? ['final'] : [])],
  }))
}
