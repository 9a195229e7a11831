/**
 * VQA samples from trajectories. Sample i is a pure function of (seed, i, catalogue, data config,
 * eval mode), so any range of indices can be produced by any worker.
 *
 * - preference: two trajectories of the same task whose progress differs by ≥ data.min_progress_gap
 *   (another trajectory of the task, or a truncated copy of the same one), in random order;
 *   answer 'A' or 'B' (the one that made more progress).
 * - progress: one trajectory, cut at a random frame half the time; answer its progress at the last
 *   shown frame, two decimals ('0.45').
 * - similarity: trajectory A, and B of the same task (half the time) or of another task;
 *   answer 'yes' if B performs the same task as A, else 'no'.
 *
 * Sample i shows trajectory i mod N (N = trajectories in the dataset), so num_epochs × N samples
 * visit each trajectory num_epochs times. Types follow data.sample_type_ratio through a
 * low-discrepancy sequence, so counts match the ratio to within a few samples at any size.
 *
 * Augmentations (not in eval mode), per trajectory: frame-subsampling jitter (inner frames move by
 * up to half the stride; first and last stay), brightness × U(0.8, 1.2), and a horizontal shift of
 * up to image_size/16 pixels (edge pixels repeat). Frames keep at most data.max_frames, evenly spaced.
 */
import {type DataConfig, normalisedRatio, SAMPLE_TYPES, type SampleType} from './config'
import {configError} from './errors'
import type {Formats} from './formats'
import {hashKey, type Stream, stream} from './rng'
import type {TrajectoryLoader} from './sources'
import {frameAt, type TrajectoryInfo} from './trajectory'

/** One trajectory as shown in a sample: which frames, and how they are augmented. */
export interface Clip {
  trajectory: number
  /** last frame shown (the progress label is read there) */
  end: number
  frames: number[]
  brightness: number
  shift: number
}

export interface SamplePlan {
  index: number
  type: SampleType
  task: string
  question: string
  answer: string
  a: Clip
  b?: Clip
  progressA: number
  progressB: number
  preferred: '' | 'A' | 'B'
  source: string
}

/** One row of the generated dataset (the Hugging Face columns). */
export interface VqaRow {
  sample_type: string
  task: string
  question: string
  answer: string
  frames_a: {bytes: Uint8Array; path: null}[]
  frames_b: {bytes: Uint8Array; path: null}[]
  progress_a: number
  progress_b: number
  preferred: string
  source: string
  index: number
}

export interface PlanContext {
  seed: number
  evalMode: boolean
  config: DataConfig
  catalogue: TrajectoryInfo[]
  byTask: Map<string, number[]>
  tasks: string[]
  cumulative: number[]
  /** trajectories that can form a preference pair */
  pairable: number[]
  pairableSet: Set<number>
}

export function questionFor(type: SampleType, task: string): string {
  if (type === 'preference') return `Task: ${task}. Two robot trajectories are shown, A and B. Which trajectory made more progress towards completing the task? Answer A or B.`
  if (type === 'progress') return `Task: ${task}. How much of the task has the robot completed by the last frame? Answer with a number between 0 and 1.`
  return `Trajectory A shows the task: ${task}. Does trajectory B perform the same task as trajectory A? Answer yes or no.`
}

const final = (info: TrajectoryInfo) => info.progress[info.length - 1]

/** Frame indices k (1 ≤ k < last) whose progress is at most final − gap: where a truncated copy can end. */
function truncations(info: TrajectoryInfo, gap: number): number[] {
  const out: number[] = []
  for (let k = 1; k < info.length - 1; k++) if (info.progress[k] <= final(info) - gap) out.push(k)
  return out
}

/** Checks the dataset can yield every enabled sample type; errors say why not. */
export function planContext(catalogue: TrajectoryInfo[], config: DataConfig, seed: number, evalMode: boolean): PlanContext {
  const byTask = new Map<string, number[]>()
  catalogue.forEach((info, i) => {
    const list = byTask.get(info.task) ?? []
    list.push(i)
    byTask.set(info.task, list)
  })
  const ratio = normalisedRatio(config)
  const cumulative = ratio.map((_, k) => ratio.slice(0, k + 1).reduce((a, b) => a + b, 0))
  const gap = config.min_progress_gap
  const pairable: number[] = []
  if (ratio[0] > 0) {
    for (const group of byTask.values()) {
      const finals = group.map((i) => final(catalogue[i]))
      const lo = finals.reduce((a, b) => Math.min(a, b), Infinity)
      const hi = finals.reduce((a, b) => Math.max(a, b), -Infinity)
      for (const i of group) {
        const f = final(catalogue[i])
        if (hi - f >= gap || f - lo >= gap || truncations(catalogue[i], gap).length > 0) pairable.push(i)
      }
    }
    if (pairable.length === 0) {
      throw configError(
        `data.sample_type_ratio asks for preference samples, but no two trajectories (or a trajectory and its own beginning) of the same task differ in progress by ≥ data.min_progress_gap = ${gap}.`,
        'Add failed or partial trajectories, lower data.min_progress_gap, or set the preference weight to 0.',
      )
    }
  }
  if (ratio[2] > 0 && byTask.size < 2) {
    throw configError(
      'data.sample_type_ratio asks for similarity samples, but every trajectory has the same task; similarity needs at least two tasks.',
      'Add trajectories of another task, or set the similarity weight (third) to 0.',
    )
  }
  return {seed, evalMode, config, catalogue, byTask, tasks: [...byTask.keys()], cumulative, pairable, pairableSet: new Set(pairable)}
}

/** Type of sample i: a golden-ratio sequence over the cumulative ratio, offset by the seed. */
export function sampleType(ctx: PlanContext, i: number): SampleType {
  const offset = hashKey('type-offset', ctx.seed) / 4294967296
  const u = (offset + (i + 1) * 0.6180339887498949) % 1
  for (let k = 0; k < 3; k++) if (u < ctx.cumulative[k] && ctx.cumulative[k] > (k === 0 ? 0 : ctx.cumulative[k - 1])) return SAMPLE_TYPES[k]
  const enabled = SAMPLE_TYPES.filter((_, k) => ctx.cumulative[k] > (k === 0 ? 0 : ctx.cumulative[k - 1]))
  return enabled[enabled.length - 1]
}

function clip(ctx: PlanContext, rng: Stream, trajectory: number, end: number): Clip {
  const m = Math.min(ctx.config.max_frames, end + 1)
  const frames = Array.from({length: m}, (_, j) => (m === 1 ? end : Math.round((j * end) / (m - 1))))
  if (ctx.evalMode) return {trajectory, end, frames, brightness: 1, shift: 0}
  const half = Math.floor(end / Math.max(1, m - 1) / 2)
  for (let j = 1; j < m - 1; j++) frames[j] = Math.min(end - 1, Math.max(1, frames[j] + rng.int(-half, half)))
  frames.sort((x, y) => x - y)
  const maxShift = Math.max(1, Math.round(ctx.config.image_size / 16))
  return {trajectory, end, frames, brightness: rng.uniform(0.8, 1.2), shift: rng.int(-maxShift, maxShift)}
}

/** A random member of `list` for which `ok` holds (a few random tries, then a scan from a random start). */
function pickWhere(rng: Stream, list: number[], ok: (i: number) => boolean): number | undefined {
  for (let t = 0; t < 8; t++) {
    const i = rng.pick(list)
    if (ok(i)) return i
  }
  const start = rng.int(0, list.length - 1)
  for (let k = 0; k < list.length; k++) {
    const i = list[(start + k) % list.length]
    if (ok(i)) return i
  }
  return undefined
}

export function planSample(ctx: PlanContext, index: number): SamplePlan {
  const rng = stream('sample', ctx.seed, index)
  const type = sampleType(ctx, index)
  const {catalogue} = ctx
  let base = index % catalogue.length
  const gap = ctx.config.min_progress_gap
  const last = (t: number) => catalogue[t].length - 1

  if (type === 'preference') {
    if (!ctx.pairableSet.has(base)) base = ctx.pairable[hashKey('pairable', ctx.seed, index) % ctx.pairable.length]
    const info = catalogue[base]
    const group = ctx.byTask.get(info.task)!
    const partner = pickWhere(rng, group, (o) => o !== base && Math.abs(final(catalogue[o]) - final(info)) >= gap)
    const cuts = truncations(info, gap)
    let first: Clip
    let second: Clip
    if (partner !== undefined && (cuts.length === 0 || rng.chance(0.5))) {
      first = clip(ctx, rng, base, last(base))
      second = clip(ctx, rng, partner, last(partner))
    } else {
      first = clip(ctx, rng, base, last(base))
      second = clip(ctx, rng, base, rng.pick(cuts))
    }
    const [a, b] = rng.chance(0.5) ? [second, first] : [first, second]
    const progressA = catalogue[a.trajectory].progress[a.end]
    const progressB = catalogue[b.trajectory].progress[b.end]
    const preferred = progressA > progressB ? 'A' : 'B'
    return {
      index,
      type,
      task: info.task,
      question: questionFor(type, info.task),
      answer: preferred,
      a,
      b,
      progressA,
      progressB,
      preferred,
      source: `${catalogue[a.trajectory].label} vs ${catalogue[b.trajectory].label}`,
    }
  }

  const info = catalogue[base]
  if (type === 'progress') {
    const end = info.length > 1 && rng.chance(0.5) ? rng.int(1, last(base)) : last(base)
    const a = clip(ctx, rng, base, end)
    const progressA = info.progress[end]
    return {index, type, task: info.task, question: questionFor(type, info.task), answer: progressA.toFixed(2), a, progressA, progressB: -1, preferred: '', source: info.label}
  }

  // similarity
  const same = rng.chance(0.5)
  let other: number
  if (same) {
    const group = ctx.byTask.get(info.task)!
    other = group.length > 1 ? (pickWhere(rng, group, (o) => o !== base) as number) : base
  } else {
    const task = rng.pick(ctx.tasks.filter((t) => t !== info.task))
    other = rng.pick(ctx.byTask.get(task)!)
  }
  const a = clip(ctx, rng, base, last(base))
  const b = clip(ctx, rng, other, last(other))
  return {
    index,
    type,
    task: info.task,
    question: questionFor(type, info.task),
    answer: same ? 'yes' : 'no',
    a,
    b,
    progressA: final(info),
    progressB: final(catalogue[other]),
    preferred: '',
    source: `${info.label} vs ${catalogue[other].label}`,
  }
}

/** The clip's frames (RGB, row-major), with its brightness and shift applied. */
export async function clipFrames(ctx: PlanContext, loader: TrajectoryLoader, c: Clip): Promise<{frames: Uint8Array[]; width: number; height: number}> {
  const trajectory = await loader.load(ctx.catalogue[c.trajectory])
  const {width, height} = trajectory
  const frames = c.frames.map((t) => {
    const src = frameAt(trajectory, t)
    if (c.brightness === 1 && c.shift === 0) return src
    const data = new Uint8Array(src.length)
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const sx = Math.min(width - 1, Math.max(0, x - c.shift))
        for (let k = 0; k < 3; k++) data[(y * width + x) * 3 + k] = Math.min(255, Math.round(src[(y * width + sx) * 3 + k] * c.brightness))
      }
    }
    return data
  })
  return {frames, width, height}
}

async function renderClip(ctx: PlanContext, loader: TrajectoryLoader, formats: Formats, c: Clip): Promise<{bytes: Uint8Array; path: null}[]> {
  const {frames, width, height} = await clipFrames(ctx, loader, c)
  return frames.map((data) => ({bytes: formats.encodePng({width, height, data}), path: null}))
}

export async function renderSample(ctx: PlanContext, loader: TrajectoryLoader, formats: Formats, plan: SamplePlan): Promise<VqaRow> {
  return {
    sample_type: plan.type,
    task: plan.task,
    question: plan.question,
    answer: plan.answer,
    frames_a: await renderClip(ctx, loader, formats, plan.a),
    frames_b: plan.b ? await renderClip(ctx, loader, formats, plan.b) : [],
    progress_a: plan.progressA,
    progress_b: plan.progressB,
    preferred: plan.preferred,
    source: plan.source,
    index: plan.index,
  }
}

/** Rows start..end-1, in order. */
export async function renderRange(ctx: PlanContext, loader: TrajectoryLoader, formats: Formats, start: number, end: number): Promise<VqaRow[]> {
  const rows: VqaRow[] = []
  for (let i = start; i < end; i++) rows.push(await renderSample(ctx, loader, formats, planSample(ctx, i)))
  return rows
}
