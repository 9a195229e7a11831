/**
 * Writing synthetic trajectories out as .npz files (one per trajectory, the canonical keys), so
 * the .npz path of dataset generation can be exercised end to end. Written to a hidden sibling
 * folder and renamed into place.
 */
import {existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync} from 'node:fs'
import * as path from 'node:path'

import {usageError} from './errors'
import type {Formats} from './formats'
import {writeNpzTrajectory} from './npz'
import {type Outcome, planSynthetic, renderSynthetic} from './synthetic'

export interface ExportOptions {
  output: string
  name: string
  count: number
  imageSize: number
  compress?: boolean
  overwrite?: boolean
  /** index of the first trajectory (default 0) */
  start?: number
}

export interface ExportResult {
  output: string
  name: string
  count: number
  start: number
  image_size: number
  compressed: boolean
  tasks: number
  outcomes: Record<Outcome, number>
  files: string[]
}

export async function writeSyntheticTrajectories(formats: Formats, options: ExportOptions, onProgress?: (p: {done: number; total: number}) => void): Promise<ExportResult> {
  const output = path.resolve(options.output)
  const start = options.start ?? 0
  if (!/^[A-Za-z0-9_.-]+$/.test(options.name)) throw usageError(`--name must be letters, digits, _ . - (got '${options.name}').`)
  if (existsSync(output)) {
    if (!statSync(output).isDirectory()) throw usageError(`--output ${output} is a file.`, 'Choose a folder path.')
    const entries = readdirSync(output)
    if (entries.length > 0 && !options.overwrite) throw usageError(`--output ${output} already exists and is not empty.`, 'Pass --overwrite to replace it.')
    // --overwrite replaces a folder of trajectories, never an unrelated folder
    if (entries.some((e) => !e.endsWith('.npz'))) throw usageError(`--output ${output} holds files other than .npz; --overwrite only replaces trajectory folders.`, 'Choose another --output.')
  }
  const temp = path.join(path.dirname(output), `.${path.basename(output)}.tmp-${process.pid}-${Date.now().toString(36)}`)
  mkdirSync(temp, {recursive: true})
  const outcomes: Record<Outcome, number> = {success: 0, partial: 0, miss: 0, wrong_goal: 0}
  const tasks = new Set<string>()
  const files: string[] = []
  const width = String(start + options.count - 1).length
  try {
    for (let k = 0; k < options.count; k++) {
      const index = start + k
      const plan = planSynthetic(options.name, index)
      outcomes[plan.outcome]++
      tasks.add(plan.task)
      const file = `traj_${String(index).padStart(Math.max(5, width), '0')}.npz`
      await writeNpzTrajectory(formats, path.join(temp, file), renderSynthetic(plan, options.imageSize), options.compress)
      files.push(file)
      onProgress?.({done: k + 1, total: options.count})
    }
    if (existsSync(output)) rmSync(output, {recursive: true, force: true})
    mkdirSync(path.dirname(output), {recursive: true})
    renameSync(temp, output)
  } catch (error) {
    rmSync(temp, {recursive: true, force: true})
    throw error
  }
  return {output, name: options.name, count: options.count, start, image_size: options.imageSize, compressed: Boolean(options.compress), tasks: tasks.size, outcomes, files}
}
