/**
 * Trajectories stored as numpy `.npz` files (numpy.savez / savez_compressed), read without Python.
 *
 * Accepted keys (the first one present wins):
 *   frames   — `frames`, `images`, `observations`, `obs`, `rgb`, `video`, `pixels`:
 *              [T, H, W, 3] (also [T, H, W, 4]: alpha dropped; [T, H, W, 1] or [T, H, W]: grey; [T, 3, H, W]: channels first,
 *              recognised when the last axis is not 3);
 *              uint8 0–255, or float (0–1 when its maximum is ≤ 1, else 0–255); other integers clamp to 0–255.
 *   task     — `task`, `task_description`, `language_instruction`, `instruction`, `language`, `lang`, `prompt`:
 *              a unicode string, as a 0-d array, a [1] array, or one per frame (the first non-empty one is used).
 *   progress — `progress`, `target_progress`, `progress_targets`: [T] numbers in [0, 1]
 *              (missing: an error, or 0 → 1 over the frames with data.missing_progress=linear).
 */
import {configError} from './errors'
import type {Formats, NdArray} from './formats'
import type {Trajectory} from './trajectory'

export const FRAME_KEYS = ['frames', 'images', 'observations', 'obs', 'rgb', 'video', 'pixels']
export const TASK_KEYS = ['task', 'task_description', 'language_instruction', 'instruction', 'language', 'lang', 'prompt']
export const PROGRESS_KEYS = ['progress', 'target_progress', 'progress_targets']

function pick(arrays: Record<string, NdArray>, keys: string[]): [string, NdArray] | undefined {
  for (const key of keys) if (arrays[key]) return [key, arrays[key]]
  return undefined
}

function missing(file: string, arrays: Record<string, NdArray>, what: string, keys: string[]): Error {
  const found = Object.keys(arrays)
  return configError(
    `${file}: no ${what} array (key '${keys[0]}'; also accepted: ${keys.slice(1).join(', ')}). Keys in the file: ${found.length ? found.join(', ') : 'none'}.`,
    `Save trajectories with numpy.savez(file, frames=<T×H×W×3 uint8>, task=<str>, progress=<T floats in [0,1]>).`,
  )
}

/** Reads one trajectory file; errors name the file and the key. */
export async function readNpzTrajectory(formats: Formats, file: string, missingProgress: 'error' | 'linear'): Promise<Trajectory> {
  let arrays: Record<string, NdArray>
  try {
    arrays = await formats.readNpz(file)
  } catch (error) {
    const message = (error as Error).message
    throw configError(message.includes(file) ? message : `${file}: ${message}`, 'Pass .npz files written by numpy.savez or numpy.savez_compressed.')
  }
  const framesEntry = pick(arrays, FRAME_KEYS)
  if (!framesEntry) throw missing(file, arrays, 'frames', FRAME_KEYS)
  const {length, height, width, frames} = toFrames(formats, file, framesEntry[0], framesEntry[1])

  const taskEntry = pick(arrays, TASK_KEYS)
  if (!taskEntry) throw missing(file, arrays, 'task', TASK_KEYS)
  const [taskKey, taskArray] = taskEntry
  if (taskArray.dtype !== 'U')
    throw configError(
      `${file}: key '${taskKey}' must hold a unicode string (numpy dtype <U…), got dtype ${taskArray.dtype}.`,
      "Save the task as a Python str: numpy.savez(..., task='pick up the cup').",
    )
  const task = (taskArray.data as string[]).map((s) => s.trim()).find((s) => s.length > 0)
  if (!task) throw configError(`${file}: key '${taskKey}' is empty.`, 'Every trajectory needs its task instruction.')

  let progress: Float32Array
  const progressEntry = pick(arrays, PROGRESS_KEYS)
  if (progressEntry) {
    const [key, array] = progressEntry
    if (array.dtype === 'U') throw configError(`${file}: key '${key}' must be numeric, got strings.`)
    progress = formats.toFloat32(array)
    if (progress.length !== length) throw configError(`${file}: key '${key}' has ${progress.length} values but the frames array has ${length} frames.`, 'One progress value per frame.')
    for (let t = 0; t < progress.length; t++) {
      const v = progress[t]
      if (!(v >= -1e-3 && v <= 1 + 1e-3)) throw configError(`${file}: key '${key}' value ${v} at frame ${t} is outside [0, 1].`, 'Progress is the fraction of the task done, 0 to 1.')
      progress[t] = Math.min(1, Math.max(0, v))
    }
  } else if (missingProgress === 'linear') {
    progress = Float32Array.from({length}, (_, t) => (length === 1 ? 1 : t / (length - 1)))
  } else {
    throw missing(file, arrays, 'progress', PROGRESS_KEYS)
  }
  return {task, length, height, width, frames, progress}
}

/** Any accepted frames layout and dtype → T × H × W × 3 uint8. */
function toFrames(formats: Formats, file: string, key: string, array: NdArray): {length: number; height: number; width: number; frames: Uint8Array} {
  if (array.dtype === 'U' || array.dtype === 'b1') throw configError(`${file}: key '${key}' must be numeric pixels, got dtype ${array.dtype}.`)
  const shape = array.shape
  // channels last unless only the second axis looks like channels (3 wins over 1 or 4: [T, 3, H, 4] is channels first)
  let layout: 'thwc' | 'tchw' | 'thw' | undefined
  if (shape.length === 3) layout = 'thw'
  else if (shape.length === 4) {
    if (shape[3] === 3) layout = 'thwc'
    else if (shape[1] === 3) layout = 'tchw'
    else if (shape[3] === 1 || shape[3] === 4) layout = 'thwc'
    else if (shape[1] === 1 || shape[1] === 4) layout = 'tchw'
  }
  if (!layout) throw configError(`${file}: key '${key}' has shape [${shape.join(', ')}]; expected [T, H, W, 3] (or [T, H, W, 4], [T, H, W], [T, 3, H, W]).`)
  const [length, height, width, channels] = layout === 'thw' ? [shape[0], shape[1], shape[2], 1] : layout === 'thwc' ? shape : [shape[0], shape[2], shape[3], shape[1]]
  if (length < 1 || height < 1 || width < 1) throw configError(`${file}: key '${key}' has an empty shape [${shape.join(', ')}].`)

  let values: ArrayLike<number>
  let scale = 1
  if (array.dtype === 'u1') values = array.data as Uint8Array
  else {
    const f = formats.toFloat32(array)
    let max = 0
    for (let i = 0; i < f.length; i++) if (f[i] > max) max = f[i]
    if ((array.dtype === 'f4' || array.dtype === 'f8') && max <= 1 + 1e-6) scale = 255
    values = f
  }
  const frames = new Uint8Array(length * height * width * 3)
  const plane = height * width
  for (let t = 0; t < length; t++) {
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        const src = channels === 1 ? 0 : c
        const at = layout === 'tchw' ? (t * channels + src) * plane + p : (t * plane + p) * channels + src
        const v = values[at] * scale
        frames[(t * plane + p) * 3 + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v)
      }
    }
  }
  return {length, height, width, frames}
}

/** Writes a trajectory as .npz with the canonical keys (frames uint8, task unicode, progress float32). */
export async function writeNpzTrajectory(formats: Formats, file: string, trajectory: Trajectory, compress = false): Promise<void> {
  await formats.writeNpz(
    file,
    {
      frames: {dtype: 'u1', shape: [trajectory.length, trajectory.height, trajectory.width, 3], data: trajectory.frames},
      task: {dtype: 'U', shape: [], data: [trajectory.task]},
      progress: {dtype: 'f4', shape: [trajectory.length], data: trajectory.progress},
    },
    {compress},
  )
}
