/**
 * A run's outputs: what a trainer writes besides its checkpoints (the final model at output_dir's
 * root, logs, TensorBoard event files, reward debug logs, eval CSV/JSON). The runtime uploads them
 * to `runs/<id>/outputs/attempt-<k>/<path>` at the end of every attempt, interrupted or not;
 * `rfm cloud outputs` lists and pulls them. Checkpoint folders (`checkpoint-N/`) and the folder of
 * set-aside checkpoints are skipped: checkpoints are stored apart, with their manifests.
 */
import {promises as fs} from 'node:fs'
import * as path from 'node:path'

import type {ObjectStore} from '../store/types'
import {putFile} from '../store/transfer'

const SKIPPED_FOLDER = /^(checkpoint-\d+|\.rfm-set-aside)$/

export function outputsPrefix(runId: string, attempt?: number): string {
  return `runs/${runId}/outputs/${attempt === undefined ? '' : `attempt-${attempt}/`}`
}

/** Files under `base/rel` (a file or a folder), as '/'-separated paths relative to base; symlinks are not followed. */
async function filesUnder(base: string, rel: string): Promise<string[]> {
  const stat = await fs.lstat(path.join(base, rel)).catch(() => undefined)
  if (!stat) return []
  if (stat.isFile()) return [rel.split(path.sep).join('/')]
  if (!stat.isDirectory()) return []
  const out: string[] = []
  for (const entry of await fs.readdir(path.join(base, rel), {withFileTypes: true})) {
    if (entry.isDirectory() && SKIPPED_FOLDER.test(entry.name)) continue
    out.push(...(await filesUnder(base, path.join(rel, entry.name))))
  }
  return out
}

/**
 * Uploads `paths` for one attempt; missing ones are skipped. A relative path must stay inside `base`
 * (else it is refused in the log) and keeps its relative name; an absolute one (a kind's own scratch
 * folder, e.g. rm-eval's) is stored under its base name. Returns what was uploaded.
 */
export async function uploadOutputs(store: ObjectStore, runId: string, attempt: number, base: string, paths: string[], log: (m: string) => void): Promise<{files: number; bytes: number}> {
  const root = path.resolve(base)
  const seen = new Set<string>()
  let bytes = 0
  for (const p of paths) {
    const from = path.isAbsolute(p) ? path.dirname(path.resolve(p)) : root
    const rel = path.isAbsolute(p) ? path.basename(p) : path.relative(root, path.resolve(root, p))
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      log(`outputs: ${p} is outside ${root}; not uploaded`)
      continue
    }
    for (const file of await filesUnder(from, rel === '' ? '.' : rel)) {
      const key = path.posix.normalize(file)
      if (seen.has(key)) continue
      seen.add(key)
      try {
        await putFile(store, outputsPrefix(runId, attempt) + key, path.join(from, key))
        bytes += (await fs.stat(path.join(from, key))).size
      } catch (error) {
        log(`outputs: could not upload ${key}: ${(error as Error).message}`)
      }
    }
  }
  if (seen.size > 0) log(`outputs: ${seen.size} file(s), ${bytes} bytes uploaded for attempt ${attempt}`)
  return {files: seen.size, bytes}
}
