/**
 * Synthetic manipulation trajectories: a gripper reaches a coloured block and carries it towards a
 * goal pad in one corner of a table, seen from above. Some trajectories succeed, some stop part of
 * the way, some fail (the gripper misses the block, or carries it to the wrong place), so progress
 * and preference can be learned from the pixels alone.
 *
 * Progress at a frame = 0.25 × (fraction of the reach done) until the grasp, then
 * 0.25 + 0.75 × (fraction of the block's distance to the goal covered, never below 0).
 * Everything is a pure function of (name, index): `synthetic:train` and `synthetic:val` are
 * different, reproducible datasets.
 */
import {stream} from './rng'
import type {Trajectory} from './trajectory'

export const BLOCK_COLORS: Record<string, [number, number, number]> = {red: [220, 50, 50], blue: [60, 100, 235], yellow: [235, 205, 40]}
export const CORNERS = ['top-left', 'top-right', 'bottom-left', 'bottom-right'] as const
type Corner = (typeof CORNERS)[number]

const GOAL_CENTRE: Record<Corner, [number, number]> = {'top-left': [0.2, 0.2], 'top-right': [0.8, 0.2], 'bottom-left': [0.2, 0.8], 'bottom-right': [0.8, 0.8]}
const GOAL_HALF = 0.15
const BLOCK_HALF = 0.08
const GRIPPER_HALF = 0.12
const TABLE: [number, number, number] = [46, 46, 56]
const PAD: [number, number, number] = [90, 150, 95]
const GRIPPER: [number, number, number] = [215, 215, 215]
/** The renderer's colours (RGB), e.g. for checks that read scenes back from pixels. */
export const SYNTHETIC_COLORS = {table: TABLE, pad: PAD, gripper: GRIPPER, blocks: BLOCK_COLORS}

export type Outcome = 'success' | 'partial' | 'miss' | 'wrong_goal'

interface State {
  gripper: [number, number]
  block: [number, number]
  progress: number
}

export interface SyntheticPlan {
  task: string
  color: string
  corner: Corner
  outcome: Outcome
  states: State[]
}

/** Every task the generator can produce (12: three block colours × four corners). */
export function syntheticTasks(): string[] {
  return Object.keys(BLOCK_COLORS).flatMap((color) => CORNERS.map((corner) => taskText(color, corner)))
}

function taskText(color: string, corner: Corner): string {
  return `move the ${color} block to the ${corner} corner`
}

const dist = (a: [number, number], b: [number, number]) => Math.hypot(a[0] - b[0], a[1] - b[1])
const lerp = (a: [number, number], b: [number, number], f: number): [number, number] => [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f]

/** The motion and progress of trajectory `index` of synthetic dataset `name` (no pixels). */
export function planSynthetic(name: string, index: number): SyntheticPlan {
  const rng = stream('synthetic', name, index)
  const color = rng.pick(Object.keys(BLOCK_COLORS))
  const corner = rng.pick(CORNERS)
  const goal = GOAL_CENTRE[corner]
  const roll = rng.next()
  const outcome: Outcome = roll < 0.5 ? 'success' : roll < 0.75 ? 'partial' : roll < 0.88 ? 'miss' : 'wrong_goal'
  // the block starts in the middle band, away from every goal pad
  const block0: [number, number] = [rng.uniform(0.38, 0.62), rng.uniform(0.38, 0.62)]
  const gripper0: [number, number] = [rng.uniform(0.1, 0.9), rng.pick([0.08, 0.92])]
  const reachFrames = rng.int(4, 7)
  const carryFrames = rng.int(6, 12)
  const holdFrames = rng.int(1, 3)
  const reachTotal = Math.max(dist(gripper0, block0), 1e-6)
  const carryTotal = dist(block0, goal)
  const states: State[] = []
  const jitter = (): [number, number] => [rng.uniform(-0.01, 0.01), rng.uniform(-0.01, 0.01)]
  const add = (gripper: [number, number], block: [number, number], grasped: boolean) => {
    const progress = grasped ? 0.25 + 0.75 * Math.max(0, 1 - dist(block, goal) / carryTotal) : 0.25 * Math.max(0, 1 - dist(gripper, block) / reachTotal)
    states.push({gripper, block, progress: Math.min(1, Math.max(0, progress))})
  }

  if (outcome === 'miss') {
    // reaches for a point beside the block and gives up there
    const wrong: [number, number] = [block0[0] + rng.pick([-1, 1]) * rng.uniform(0.2, 0.3), block0[1] + rng.pick([-1, 1]) * rng.uniform(0.15, 0.25)]
    const steps = reachFrames + rng.int(2, 5)
    for (let t = 0; t <= steps; t++) {
      const j = t === 0 ? [0, 0] : jitter()
      const g = lerp(gripper0, wrong, t / steps)
      add([g[0] + j[0], g[1] + j[1]], block0, false)
    }
  } else {
    for (let t = 0; t < reachFrames; t++) add(lerp(gripper0, block0, t / reachFrames), block0, false)
    let target: [number, number] = goal
    if (outcome === 'partial') target = lerp(block0, goal, rng.uniform(0.2, 0.75))
    if (outcome === 'wrong_goal') target = GOAL_CENTRE[rng.pick(CORNERS.filter((c) => c !== corner))]
    for (let t = 0; t <= carryFrames; t++) {
      const j = t === 0 || t === carryFrames ? [0, 0] : jitter()
      const p = lerp(block0, target, t / carryFrames)
      const at: [number, number] = [p[0] + j[0], p[1] + j[1]]
      add(at, at, true)
    }
  }
  const last = states[states.length - 1]
  for (let t = 0; t < holdFrames; t++) add(last.gripper, last.block, outcome !== 'miss')
  return {task: taskText(color, corner), color, corner, outcome, states}
}

/** Renders a plan at size × size pixels. */
export function renderSynthetic(plan: SyntheticPlan, size: number): Trajectory {
  const frameBytes = size * size * 3
  const frames = new Uint8Array(plan.states.length * frameBytes)
  const goal = GOAL_CENTRE[plan.corner]
  const block = BLOCK_COLORS[plan.color]
  plan.states.forEach((state, t) => {
    const base = t * frameBytes
    for (let y = 0; y < size; y++) {
      const v = (y + 0.5) / size
      for (let x = 0; x < size; x++) {
        const u = (x + 0.5) / size
        let rgb = TABLE
        if (Math.abs(u - goal[0]) <= GOAL_HALF && Math.abs(v - goal[1]) <= GOAL_HALF) rgb = PAD
        if (Math.abs(u - state.block[0]) <= BLOCK_HALF && Math.abs(v - state.block[1]) <= BLOCK_HALF) rgb = block
        // the gripper: a ring open at the bottom, drawn over the block
        const du = Math.abs(u - state.gripper[0])
        const dv = v - state.gripper[1]
        const inBox = du <= GRIPPER_HALF && Math.abs(dv) <= GRIPPER_HALF
        const onEdge = du >= GRIPPER_HALF - 0.045 || dv <= -GRIPPER_HALF + 0.045
        if (inBox && onEdge) rgb = GRIPPER
        const o = base + (y * size + x) * 3
        frames[o] = rgb[0]
        frames[o + 1] = rgb[1]
        frames[o + 2] = rgb[2]
      }
    }
  })
  return {task: plan.task, length: plan.states.length, height: size, width: size, frames, progress: Float32Array.from(plan.states, (s) => s.progress)}
}

export function syntheticTrajectory(name: string, index: number, size: number): Trajectory {
  return renderSynthetic(planSynthetic(name, index), size)
}
