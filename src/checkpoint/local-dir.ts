/**
 * Checkpoints in a local folder, laid out like Hugging Face's Trainer (`checkpoint-<step>/` folders,
 * the same files `rfm ckpt pull` writes), for plugin commands that train outside a run (`rfm rm-eval
 * train`; plugins get it as `api.checkpoints.local(dir)`), so `rfm rm-eval eval` reads either. A checkpoint is written into a temporary folder and renamed into place: a killed
 * process never leaves a half-written `checkpoint-<step>`.
 */
import {existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'

import type {CheckpointFiles, CheckpointIO, SavedCheckpoint} from './types'

export class DirectoryCheckpoints implements CheckpointIO {
  constructor(readonly dir: string) {
    mkdirSync(dir, {recursive: true})
  }

  async save(step: number, files: CheckpointFiles, state: Record<string, unknown>): Promise<void> {
    const tmp = path.join(this.dir, `.tmp-checkpoint-${step}-${process.pid}`)
    rmSync(tmp, {recursive: true, force: true})
    mkdirSync(tmp, {recursive: true})
    for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(tmp, name), bytes)
    writeFileSync(path.join(tmp, 'trainer_state.json'), JSON.stringify(state))
    const target = path.join(this.dir, `checkpoint-${step}`)
    rmSync(target, {recursive: true, force: true})
    renameSync(tmp, target)
  }

  steps(): number[] {
    return readdirSync(this.dir)
      .filter((d) => /^checkpoint-\d+$/.test(d) && existsSync(path.join(this.dir, d, 'trainer_state.json')))
      .map((d) => Number(d.slice('checkpoint-'.length)))
      .sort((a, b) => a - b)
  }

  async loadLatest(): Promise<SavedCheckpoint | undefined> {
    const step = this.steps().at(-1)
    if (step === undefined) return undefined
    const dir = path.join(this.dir, `checkpoint-${step}`)
    const files: CheckpointFiles = {}
    for (const name of readdirSync(dir)) if (name !== 'trainer_state.json') files[name] = readFileSync(path.join(dir, name))
    return {step, files, state: JSON.parse(readFileSync(path.join(dir, 'trainer_state.json'), 'utf8'))}
  }
}
