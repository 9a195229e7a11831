import {createHash} from 'node:crypto'

/** runs/<id>/checkpoints/step-<N>/manifest.json — written last; without it the checkpoint does not exist. */
export interface CheckpointManifest {
  schemaVersion: 1
  step: number
  createdAt: string
  attempt?: number
  files: Array<{path: string; size: number; sha256: string}>
  /** e.g. {eval_loss: 0.31}; retention keeps the best by a named metric */
  metrics?: Record<string, number>
}

export const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex')

/**
 * sha256 in 4 MiB slices that yield to the event loop between them, so writes in flight (which
 * need the main thread between their chunks) keep going while a large file is hashed.
 */
export async function sha256Async(data: Uint8Array): Promise<string> {
  const hash = createHash('sha256')
  const slice = 4 * 1024 * 1024
  for (let offset = 0; offset < data.byteLength; offset += slice) {
    hash.update(data.subarray(offset, offset + slice))
    if (offset + slice < data.byteLength) await new Promise((resolve) => setImmediate(resolve))
  }
  return hash.digest('hex')
}

export function stepPrefix(runId: string, step: number): string {
  return `runs/${runId}/checkpoints/step-${step}/`
}

export function parseStepPrefix(prefix: string): number | undefined {
  const match = /\/step-(\d+)\/$/.exec(prefix)
  return match ? Number(match[1]) : undefined
}

/** Relative paths inside a checkpoint: no escaping the folder, no absolute paths. */
export function checkRelativePath(file: string): string {
  if (!file || file.startsWith('/') || file.split('/').some((s) => s === '..' || s === '.' || s === '') || file === 'manifest.json') {
    throw new Error(`invalid checkpoint file path "${file}"`)
  }
  return file
}
