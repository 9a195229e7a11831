/**
 * A synthetic needle-insertion task, a pure function of (seed, session, step). The cameras show the
 * target and the needle tip from above (lateral position only); the instruction sets the needle's
 * orientation; how far the tip is from the tissue surface, whether it touches it and how deep it is
 * are visible ONLY in the sensor (force channel + OCT A-scan). So the vertical action and the
 * "inject" flag need the sensor, and fusion has something to learn.
 *
 * Action chunk: HORIZON (8) future steps × ACTION_DIM (7): [dx, dy, dz, rx, ry, rz, inject].
 */
import type {RngClass as RngCtor} from '@rfm/plugin-api'

export const HORIZON = 8
export const ACTION_DIM = 7
/** the seed's sensor window: 650 Hz × 1 s, 1 force channel + a 1025-sample A-scan */
export const SENSOR_T = 650
export const SENSOR_C = 1026

const APPROACH_SPEED = 0.08
const INSERT_SPEED = 0.03

export const INSTRUCTIONS: {text: string; rotation: [number, number, number]}[] = [
  {text: 'insert the needle into the white silicone circle', rotation: [0.2, -0.1, 0]},
  {text: 'insert the needle into the eye trocar', rotation: [-0.15, 0.25, 0.1]},
  {text: 'insert the needle into the red square phantom', rotation: [0, 0.1, -0.2]},
  {text: 'insert the needle slowly into the gel target', rotation: [0.1, 0.1, 0.2]},
]

export interface GeneratorOptions {
  seed: number
  sessions: number
  /** one session in `sensorEvery` carries sensor data (the seed's data: ≈ 1 in 17) */
  sensorEvery: number
  stepsPerSession: number
  views: number
  imageSize: number
  sensorT: number
  sensorC: number
}

export interface SessionSpec {
  index: number
  hasSensor: boolean
  instruction: number
  target: [number, number]
  start: [number, number]
  /** vertical distance from the start height to the tissue surface (hidden from the cameras) */
  surface: number
  /** insertion depth below the surface at which to stop and inject (hidden) */
  depth: number
}

export function sessionSpec(RngClass: RngCtor, o: GeneratorOptions, s: number): SessionSpec {
  const r = RngClass.derive(o.seed, 0x5e55, s)
  return {
    index: s,
    // the sensor sessions are spread over the list, 1 in sensorEvery
    hasSensor: s % o.sensorEvery === o.sensorEvery - 1,
    instruction: r.int(INSTRUCTIONS.length),
    target: [0.25 + 0.5 * r.next(), 0.25 + 0.5 * r.next()],
    start: [0.1 + 0.8 * r.next(), 0.1 + 0.8 * r.next()],
    surface: 0.15 + 0.55 * r.next(),
    depth: 0.05 + 0.2 * r.next(),
  }
}

/** tip state at step t: lateral position converges to the target; z advances fast, then slowly in tissue, then stops */
export function tipAt(spec: SessionSpec, t: number): {x: number; y: number; z: number} {
  const decay = Math.pow(0.8, t)
  const x = spec.target[0] + (spec.start[0] - spec.target[0]) * decay
  const y = spec.target[1] + (spec.start[1] - spec.target[1]) * decay
  let z = 0
  for (let k = 0; k < t; k++) z += verticalStep(spec, z)
  return {x, y, z}
}

function verticalStep(spec: SessionSpec, z: number): number {
  const goal = spec.surface + spec.depth
  if (z >= goal - 1e-9) return 0
  const speed = z < spec.surface ? APPROACH_SPEED : INSERT_SPEED
  return Math.min(speed, goal - z)
}

/** [HORIZON × ACTION_DIM] action chunk at step t */
export function actionChunk(spec: SessionSpec, t: number): Float32Array {
  const out = new Float32Array(HORIZON * ACTION_DIM)
  const rot = INSTRUCTIONS[spec.instruction].rotation
  let {x, y, z} = tipAt(spec, t)
  for (let k = 0; k < HORIZON; k++) {
    const dx = (spec.target[0] - x) * 0.2
    const dy = (spec.target[1] - y) * 0.2
    const dz = verticalStep(spec, z)
    const inject = z >= spec.surface + spec.depth - 1e-9 ? 1 : 0
    out.set([dx, dy, dz * 10, rot[0], rot[1], rot[2], inject], k * ACTION_DIM)
    x += dx
    y += dy
    z += dz
  }
  return out
}

/** A step is sensor-dependent when contact or depth changes what the chunk says (not a plain approach). */
export function isSensorDependent(spec: SessionSpec, t: number): boolean {
  const {z} = tipAt(spec, t)
  // the approach is at full speed for the whole horizon only if the surface is farther than 8 fast steps
  return z + HORIZON * APPROACH_SPEED > spec.surface
}

/** Camera view `v` at step t: the target (ring) and the needle tip (dot), HWC RGB in [0,1]. */
export function renderView(spec: SessionSpec, t: number, v: number, size: number): Float32Array {
  const img = new Float32Array(size * size * 3)
  const {x, y} = tipAt(spec, t)
  // each view sees the scene from a slightly different offset, with its own background tint
  const off = v * 0.07
  const bg = [0.1 + 0.05 * v, 0.12, 0.15 - 0.03 * v]
  const tx = (spec.target[0] + off) * size
  const ty = (spec.target[1] - off) * size
  const px = (x + off) * size
  const py = (y - off) * size
  const ringR = Math.max(1.5, size * 0.12)
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      const o = (row * size + col) * 3
      let c = bg
      const dt = Math.hypot(col + 0.5 - tx, row + 0.5 - ty)
      if (Math.abs(dt - ringR) < 1.2) c = [0.95, 0.95, 0.95]
      if (Math.hypot(col + 0.5 - px, row + 0.5 - py) < Math.max(1, size * 0.06)) c = [0.9, 0.2, 0.1]
      img[o] = c[0]
      img[o + 1] = c[1]
      img[o + 2] = c[2]
    }
  }
  return img
}

/**
 * Sensor window at step t, [sensorT × sensorC] row-major: channel 0 = contact force (0 in air,
 * rising with depth), channels 1.. = an A-scan with a reflection at the tissue surface and one at the
 * target layer; their positions move with the tip's height over the last second.
 */
export function sensorWindow(RngClass: RngCtor, o: GeneratorOptions, spec: SessionSpec, t: number): Float32Array {
  const T = o.sensorT
  const C = o.sensorC
  const scan = C - 1
  const out = new Float32Array(T * C)
  const r = RngClass.derive(o.seed, 0x5e45, spec.index, t)
  const zEnd = tipAt(spec, t).z
  const zStart = t > 0 ? tipAt(spec, t - 1).z : 0
  const sigma = Math.max(1, scan / 60)
  const profile = new Float32Array(scan)
  for (let i = 0; i < T; i++) {
    const z = zStart + ((zEnd - zStart) * (i + 1)) / T
    const force = Math.max(0, z - spec.surface) * 4
    out[i * C] = force + 0.01 * r.normal()
    // reflections at the surface and at the target layer, as fractions of the scan range
    const c1 = (0.1 + Math.max(0, spec.surface - z)) * scan
    const c2 = (0.1 + Math.max(0, spec.surface + spec.depth - z)) * scan
    profile.fill(0)
    addPeak(profile, c1, sigma, 1)
    addPeak(profile, c2, sigma, 0.6)
    const row = i * C + 1
    for (let j = 0; j < scan; j++) out[row + j] = profile[j] + 0.02 * (r.next() - 0.5)
  }
  return out
}

function addPeak(profile: Float32Array, centre: number, sigma: number, height: number): void {
  const lo = Math.max(0, Math.floor(centre - 4 * sigma))
  const hi = Math.min(profile.length - 1, Math.ceil(centre + 4 * sigma))
  for (let j = lo; j <= hi; j++) profile[j] += height * Math.exp(-((j - centre) ** 2) / (2 * sigma * sigma))
}
