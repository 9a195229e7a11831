/** Robot trajectories: what every source (npz files, the synthetic generator) produces. */

/** One trajectory with its pixels: `frames` is T × height × width × 3, RGB, row-major. */
export interface Trajectory {
  task: string
  length: number
  height: number
  width: number
  frames: Uint8Array
  /** per-frame progress towards completing the task, in [0, 1] */
  progress: Float32Array
}

/** Where a trajectory's pixels come from; small enough to send to worker threads. */
export type TrajectoryRef = {kind: 'npz'; file: string} | {kind: 'synthetic'; name: string; index: number}

/**
 * What sample planning needs to know about a trajectory without its pixels: its task, length and
 * progress curve. The catalogue of a dataset is a list of these, in a fixed order.
 */
export interface TrajectoryInfo {
  /** stable name used in the `source` column: `synthetic:train/17`, `trajs/ep_003.npz` */
  label: string
  ref: TrajectoryRef
  task: string
  length: number
  progress: number[]
}

/** The frame at index t as its own RGB buffer (a view, not a copy). */
export function frameAt(trajectory: Trajectory, t: number): Uint8Array {
  const size = trajectory.height * trajectory.width * 3
  return trajectory.frames.subarray(t * size, (t + 1) * size)
}
