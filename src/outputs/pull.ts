/** Lists and pulls a run's outputs (see ./upload): `rfm cloud outputs RUN [DIR] [--attempt N]`. */
import {createWriteStream, promises as fs} from 'node:fs'
import * as path from 'node:path'
import {pipeline} from 'node:stream/promises'

import {NotFoundError} from '../errors'
import type {ObjectStore} from '../store/types'
import {getStream} from '../store/transfer'
import {outputsPrefix} from './upload'

export interface OutputFile {
  path: string
  size: number
}

export interface RunOutputs {
  runId: string
  /** every attempt that uploaded outputs */
  attempts: number[]
  attempt: number
  files: OutputFile[]
}

/** The outputs of one attempt (default: the newest that uploaded any). */
export async function listOutputs(store: ObjectStore, runId: string, attempt?: number): Promise<RunOutputs> {
  const {objects} = await store.list(outputsPrefix(runId))
  const byAttempt = new Map<number, OutputFile[]>()
  for (const o of objects) {
    const match = /^attempt-(\d+)\/(.+)$/.exec(o.key.slice(outputsPrefix(runId).length))
    if (!match) continue
    const list = byAttempt.get(Number(match[1])) ?? []
    list.push({path: match[2], size: o.size})
    byAttempt.set(Number(match[1]), list)
  }
  const attempts = [...byAttempt.keys()].sort((a, b) => a - b)
  if (attempts.length === 0)
    throw new NotFoundError(`Run ${runId} has no outputs in the store.`, {
      hint: "Outputs are uploaded at the end of every attempt: the outputs key of the config (files or folders relative to the workdir), the built-in trainers' TensorBoard and debug logs.",
    })
  const chosen = attempt ?? attempts.at(-1)!
  const files = byAttempt.get(chosen)
  if (!files) throw new NotFoundError(`Run ${runId} has no outputs of attempt ${chosen}.`, {hint: `Attempts with outputs: ${attempts.join(', ')}.`})
  return {runId, attempts, attempt: chosen, files: files.sort((a, b) => a.path.localeCompare(b.path))}
}

/** Writes the listed files under dir (each through a temp name, then renamed); refuses paths that leave dir. */
export async function pullOutputs(store: ObjectStore, outputs: RunOutputs, dir: string): Promise<void> {
  const root = path.resolve(dir)
  for (const file of outputs.files) {
    const target = path.resolve(root, file.path)
    if (path.relative(root, target).startsWith('..')) throw new NotFoundError(`refusing output path ${file.path}: it leaves ${root}`)
    await fs.mkdir(path.dirname(target), {recursive: true})
    const stream = await getStream(store, outputsPrefix(outputs.runId, outputs.attempt) + file.path)
    if (!stream) throw new NotFoundError(`output ${file.path} vanished from the store`)
    const temp = `${target}.rfm-partial`
    await pipeline(stream, createWriteStream(temp))
    await fs.rename(temp, target)
  }
}
