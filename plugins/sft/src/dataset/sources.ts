/**
 * Trajectory sources (`data.train_datasets`): a folder of .npz files (searched recursively, sorted
 * by path), one .npz file, or `synthetic:<name>[:<count>]`. The catalogue lists every trajectory
 * with its task and progress curve; the loader brings back pixels, resized to data.image_size.
 */
import {readdirSync, statSync} from 'node:fs'
import * as path from 'node:path'

import type {DataConfig} from './config'
import {configError} from './errors'
import type {Formats} from './formats'
import {readNpzTrajectory} from './npz'
import {planSynthetic, syntheticTrajectory} from './synthetic'
import type {Trajectory, TrajectoryInfo} from './trajectory'

export interface SourceSummary {
  spec: string
  kind: 'npz' | 'synthetic'
  trajectories: number
}

const SYNTHETIC = /^synthetic:([A-Za-z0-9_.-]+)(?::(\d+))?$/

export function parseSynthetic(spec: string): {name: string; count?: number} | undefined {
  const m = SYNTHETIC.exec(spec)
  return m ? {name: m[1], count: m[2] === undefined ? undefined : Number(m[2])} : undefined
}

function npzFiles(dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...npzFiles(full))
    else if (entry.name.endsWith('.npz')) out.push(full)
  }
  return out.sort()
}

/** Lists every trajectory of every source, in order; reads each .npz once for its task and progress. */
export async function buildCatalogue(formats: Formats, config: DataConfig, baseDir: string): Promise<{catalogue: TrajectoryInfo[]; sources: SourceSummary[]}> {
  const catalogue: TrajectoryInfo[] = []
  const sources: SourceSummary[] = []
  for (const [i, spec] of config.train_datasets.entries()) {
    const key = `data.train_datasets[${i}]`
    if (spec.startsWith('synthetic:')) {
      const parsed = parseSynthetic(spec)
      if (!parsed || parsed.count === 0) throw configError(`${key} = ${spec}: expected synthetic:<name> or synthetic:<name>:<count> (count ≥ 1; name of letters, digits, _ . -).`)
      const count = parsed.count ?? config.synthetic_count
      for (let index = 0; index < count; index++) {
        const plan = planSynthetic(parsed.name, index)
        catalogue.push({
          label: `synthetic:${parsed.name}/${index}`,
          ref: {kind: 'synthetic', name: parsed.name, index},
          task: plan.task,
          length: plan.states.length,
          progress: plan.states.map((s) => Math.fround(s.progress)),
        })
      }
      sources.push({spec, kind: 'synthetic', trajectories: count})
      continue
    }
    const full = path.resolve(baseDir, spec)
    let files: string[]
    try {
      files = statSync(full).isDirectory() ? npzFiles(full) : [full]
    } catch {
      throw configError(
        `${key} = ${spec}: no such folder or file (${full}).`,
        'A source is a local folder of .npz trajectories, one .npz file, or synthetic:<name>[:<count>]; download hub datasets first.',
      )
    }
    if (files.length === 0) throw configError(`${key} = ${spec}: the folder holds no .npz files.`, 'Write trajectories with `rfm sft trajectories generate` or numpy.savez.')
    for (const file of files) {
      if (!file.endsWith('.npz')) throw configError(`${key} = ${spec}: not a .npz file.`)
      const trajectory = await readNpzTrajectory(formats, file, config.missing_progress)
      const label = files.length === 1 && file === full ? spec : path.join(spec, path.relative(full, file))
      catalogue.push({label, ref: {kind: 'npz', file}, task: trajectory.task, length: trajectory.length, progress: Array.from(trajectory.progress)})
    }
    sources.push({spec, kind: 'npz', trajectories: files.length})
  }
  return {catalogue, sources}
}

/** Loads trajectories' pixels at image_size × image_size, keeping the few most recent in memory. */
export class TrajectoryLoader {
  private readonly cache = new Map<string, Promise<Trajectory>>()

  constructor(
    private readonly formats: Formats,
    private readonly config: DataConfig,
    private readonly capacity = 16,
  ) {}

  load(info: TrajectoryInfo): Promise<Trajectory> {
    const key = info.ref.kind === 'npz' ? info.ref.file : `${info.ref.name}/${info.ref.index}`
    let hit = this.cache.get(key)
    if (hit) {
      this.cache.delete(key)
    } else {
      hit = this.read(info)
      if (this.cache.size >= this.capacity) this.cache.delete(this.cache.keys().next().value as string)
    }
    this.cache.set(key, hit)
    return hit
  }

  private async read(info: TrajectoryInfo): Promise<Trajectory> {
    const size = this.config.image_size
    if (info.ref.kind === 'synthetic') return syntheticTrajectory(info.ref.name, info.ref.index, size)
    const trajectory = await readNpzTrajectory(this.formats, info.ref.file, this.config.missing_progress)
    if (trajectory.height === size && trajectory.width === size) return trajectory
    const frameBytes = size * size * 3
    const frames = new Uint8Array(trajectory.length * frameBytes)
    const src = trajectory.height * trajectory.width * 3
    for (let t = 0; t < trajectory.length; t++) {
      const image = {width: trajectory.width, height: trajectory.height, data: trajectory.frames.subarray(t * src, (t + 1) * src)}
      frames.set(this.formats.resizeImage(image, size, size).data, t * frameBytes)
    }
    return {...trajectory, height: size, width: size, frames}
  }
}
