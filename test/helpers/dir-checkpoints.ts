/**
 * A directory-backed CheckpointIO for process-level tests: each checkpoint is written to a temporary
 * folder, its manifest (with sha256 of every file) last, then renamed into place, so a process killed
 * mid-save leaves no checkpoint that loadLatest would return.
 */
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'

import type {CheckpointFiles, CheckpointIO, SavedCheckpoint} from '../../src/plugin-api'

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

export class DirCheckpoints implements CheckpointIO {
  constructor(readonly dir: string) {
    mkdirSync(dir, {recursive: true})
  }

  async save(step: number, files: CheckpointFiles, state: Record<string, unknown>, options?: {final?: boolean}): Promise<void> {
    const tmp = path.join(this.dir, `.tmp-${step}-${process.pid}`)
    rmSync(tmp, {recursive: true, force: true})
    mkdirSync(path.join(tmp, 'files'), {recursive: true})
    const hashes: Record<string, string> = {}
    for (const [name, bytes] of Object.entries(files)) {
      writeFileSync(path.join(tmp, 'files', name), bytes)
      hashes[name] = sha256(bytes)
    }
    writeFileSync(path.join(tmp, 'state.json'), JSON.stringify(state))
    writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify({step, final: options?.final ?? false, files: hashes}))
    const target = path.join(this.dir, `step-${step}`)
    rmSync(target, {recursive: true, force: true})
    renameSync(tmp, target)
  }

  steps(): number[] {
    return readdirSync(this.dir)
      .filter((d) => /^step-\d+$/.test(d) && existsSync(path.join(this.dir, d, 'manifest.json')))
      .map((d) => Number(d.slice(5)))
      .sort((a, b) => a - b)
  }

  async loadLatest(): Promise<SavedCheckpoint | undefined> {
    for (const step of this.steps().reverse()) {
      const dir = path.join(this.dir, `step-${step}`)
      const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {files: Record<string, string>}
      const files: CheckpointFiles = {}
      let ok = true
      for (const [name, hash] of Object.entries(manifest.files)) {
        const bytes = readFileSync(path.join(dir, 'files', name))
        if (sha256(bytes) !== hash) ok = false
        files[name] = bytes
      }
      if (ok) return {step, files, state: JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8'))}
    }
    return undefined
  }
}
