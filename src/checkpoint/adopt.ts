/**
 * Checkpoints already on disk when an external run starts belong to the user: rfm never deletes
 * them. On the run's first start, complete ones (HF `checkpoint-N/` with its marker, or the `file`
 * layout's file) are adopted: committed to the run as its starting checkpoints, then resumed from.
 * On a restart, local checkpoints the store does not hold (a save cut short by the interruption)
 * are moved aside into `.rfm-set-aside/` — out of the way of the script's "newest checkpoint-N"
 * logic, but kept.
 */
import {promises as fs} from 'node:fs'
import * as path from 'node:path'

export const HF_FOLDER = /^checkpoint-(\d+)$/
export const SET_ASIDE = '.rfm-set-aside'

/** Complete `checkpoint-N/` folders in dir (the marker written last exists), oldest first. */
export async function completeHfFolders(dir: string, marker: string): Promise<Array<{step: number; name: string}>> {
  const out: Array<{step: number; name: string}> = []
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const match = HF_FOLDER.exec(name)
    if (!match) continue
    if (await fs.stat(path.join(dir, name, marker)).catch(() => undefined)) out.push({step: Number(match[1]), name})
  }
  return out.sort((a, b) => a.step - b.step)
}

/** Moves `name` (a folder or file in dir) into dir/.rfm-set-aside/, under a name that never overwrites. */
export async function setAside(dir: string, name: string, attempt: number): Promise<string> {
  const aside = path.join(dir, SET_ASIDE)
  await fs.mkdir(aside, {recursive: true})
  let target = path.join(aside, `${name}.attempt-${attempt}`)
  for (let i = 2; await fs.stat(target).catch(() => undefined); i++) target = path.join(aside, `${name}.attempt-${attempt}.${i}`)
  await fs.rename(path.join(dir, name), target)
  return target
}
