/**
 * Sessions with and without sensor data behind one interface: the built-in generator and a
 * directory of files. Directory layout (one folder per session, any folder names):
 *
 *   <sessions_dir>/<session>/meta.json         {"instruction": "...", "views": ["cam0", "cam1"]}
 *   <sessions_dir>/<session>/actions.npy        float [steps, 8, 7]   (or actions.npz with key "actions")
 *   <sessions_dir>/<session>/images/<view>/<step>.png|.jpg   step = 0-padded or not, sorted numerically
 *   <sessions_dir>/<session>/sensor/<step>.npy  float [650, 1026] per step (optional: no folder = no sensor)
 *
 * A session without a sensor folder gets zero windows and has_sensor = 0.
 */
import {createHash} from 'node:crypto'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import * as path from 'node:path'

import type {Formats} from './formats'
import {actionChunk, ACTION_DIM, GeneratorOptions, HORIZON, INSTRUCTIONS, isSensorDependent, renderView, SessionSpec, sessionSpec, sensorWindow} from './synthetic'
import type {RngClass as RngCtor} from '@rfm/plugin-api'

export interface VlaSample {
  /** "<session>/<step>" */
  id: string
  session: number
  step: number
  hasSensor: boolean
  /** contact or depth changes the chunk (known for generated data; true for every sensor sample of a directory) */
  sensorDependent: boolean
  instruction: string
  /** [HORIZON × ACTION_DIM] */
  actions: Float32Array
}

export interface VlaDataset {
  /** identity of the data, for the VL cache key */
  key: string
  views: number
  sensorT: number
  sensorC: number
  samples: VlaSample[]
  /** session indices held out for validation */
  valSessions: Set<number>
  /** the views of sample i as HWC floats in [0,1], with their size */
  images(i: number): {width: number; height: number; data: Float32Array}[]
  /** the sensor window of sample i, [sensorT × sensorC], or undefined */
  sensor(i: number): Float32Array | undefined
}

/** Every k-th session of each kind (with / without sensor) is held out, k = round(1 / val_ratio). */
export function splitSessions(sessions: {index: number; hasSensor: boolean}[], valRatio: number): Set<number> {
  const val = new Set<number>()
  if (valRatio <= 0) return val
  const k = Math.max(2, Math.round(1 / valRatio))
  for (const kind of [true, false]) {
    sessions
      .filter((s) => s.hasSensor === kind)
      .forEach((s, i) => {
        if (i % k === 0) val.add(s.index)
      })
  }
  return val
}

export function generatedDataset(RngClass: RngCtor, o: GeneratorOptions, valRatio: number): VlaDataset {
  const specs: SessionSpec[] = Array.from({length: o.sessions}, (_, s) => sessionSpec(RngClass, o, s))
  const samples: VlaSample[] = []
  for (const spec of specs) {
    for (let t = 0; t < o.stepsPerSession; t++) {
      samples.push({
        id: `${spec.index}/${t}`,
        session: spec.index,
        step: t,
        hasSensor: spec.hasSensor,
        sensorDependent: isSensorDependent(spec, t),
        instruction: INSTRUCTIONS[spec.instruction].text,
        actions: actionChunk(spec, t),
      })
    }
  }
  const windows = new Map<number, Float32Array>()
  return {
    key: 'generated:' + JSON.stringify(o),
    views: o.views,
    sensorT: o.sensorT,
    sensorC: o.sensorC,
    samples,
    valSessions: splitSessions(specs, valRatio),
    images: (i) => {
      const s = samples[i]
      return Array.from({length: o.views}, (_, v) => ({width: o.imageSize, height: o.imageSize, data: renderView(specs[s.session], s.step, v, o.imageSize)}))
    },
    sensor: (i) => {
      const s = samples[i]
      if (!s.hasSensor) return undefined
      let w = windows.get(i)
      if (!w) {
        w = sensorWindow(RngClass, o, specs[s.session], s.step)
        // small windows are kept; full-size ones (2.7 MB each) are regenerated when needed
        if (w.length <= 1 << 16) windows.set(i, w)
      }
      return w
    },
  }
}

/** Reads a sessions directory (layout above) through the core formats. Images and windows load lazily. */
export async function directoryDataset(formats: Formats, dir: string, valRatio: number, sensorShape: {t: number; c: number}): Promise<VlaDataset> {
  if (!existsSync(dir)) throw new Error(`sessions directory ${dir} does not exist`)
  const names = readdirSync(dir, {withFileTypes: true})
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
  if (names.length === 0) throw new Error(`sessions directory ${dir} has no session folders`)
  const samples: VlaSample[] = []
  const frames: {folder: string; images: string[]; sensor?: string}[] = []
  const hash = createHash('sha256')
  let views = -1
  const sessions: {index: number; hasSensor: boolean}[] = []
  for (const [index, name] of names.entries()) {
    const folder = path.join(dir, name)
    const metaFile = path.join(folder, 'meta.json')
    if (!existsSync(metaFile)) throw new formats.FormatError(metaFile, `is missing (a session needs meta.json with "instruction" and "views")`)
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as {instruction?: unknown; views?: unknown}
    if (typeof meta.instruction !== 'string' || !Array.isArray(meta.views) || meta.views.length === 0)
      throw new formats.FormatError(metaFile, `needs "instruction" (string) and "views" (non-empty list of folder names)`)
    if (views >= 0 && meta.views.length !== views) throw new formats.FormatError(metaFile, `${meta.views.length} views, other sessions have ${views}`)
    views = meta.views.length
    const actions = await readActions(formats, folder)
    const steps = actions.shape[0]
    const values = formats.toFloat32(actions)
    const sensorDir = path.join(folder, 'sensor')
    const hasSensor = existsSync(sensorDir)
    const viewFiles = (meta.views as unknown[]).map((v) => {
      // a view names a folder under images/; meta.json is data and may not lead outside the session
      let viewDir: string
      try {
        viewDir = formats.resolveInside(path.join(folder, 'images'), path.join(folder, 'images'), String(v))
      } catch {
        throw new formats.FormatError(metaFile, `the view ${JSON.stringify(v)} leads outside ${path.join(folder, 'images')}`)
      }
      return numbered(viewDir, /\.(png|jpe?g)$/i)
    })
    for (const [v, files] of viewFiles.entries()) {
      if (files.length !== steps) throw new formats.FormatError(folder, `view ${(meta.views as string[])[v]} has ${files.length} images for ${steps} action steps`)
    }
    const sensorFiles = hasSensor ? numbered(sensorDir, /\.npy$/i) : []
    if (hasSensor && sensorFiles.length !== steps) throw new formats.FormatError(sensorDir, `${sensorFiles.length} windows for ${steps} action steps`)
    sessions.push({index, hasSensor})
    hash.update(`${name}:${steps}:${hasSensor}:${meta.instruction}\n`)
    hash.update(readFileSync(path.join(folder, existsSync(path.join(folder, 'actions.npy')) ? 'actions.npy' : 'actions.npz')))
    for (let t = 0; t < steps; t++) {
      for (const files of viewFiles) hash.update(readFileSync(files[t]))
      samples.push({
        id: `${name}/${t}`,
        session: index,
        step: t,
        hasSensor,
        sensorDependent: hasSensor,
        instruction: meta.instruction,
        actions: values.slice(t * HORIZON * ACTION_DIM, (t + 1) * HORIZON * ACTION_DIM),
      })
      frames.push({folder, images: viewFiles.map((f) => f[t]), sensor: hasSensor ? sensorFiles[t] : undefined})
    }
  }
  return {
    key: 'dir:' + hash.digest('hex'),
    views,
    sensorT: sensorShape.t,
    sensorC: sensorShape.c,
    samples,
    valSessions: splitSessions(sessions, valRatio),
    images: (i) =>
      frames[i].images.map((file) => {
        const img = formats.decodeImage(readFileSync(file), file)
        return {width: img.width, height: img.height, data: formats.imageToFloat(img)}
      }),
    sensor: (i) => {
      const file = frames[i].sensor
      if (!file) return undefined
      const arr = formats.parseNpy(readFileSync(file), file)
      if (arr.shape.length !== 2 || arr.shape[0] !== sensorShape.t || arr.shape[1] !== sensorShape.c)
        throw new formats.FormatError(file, `sensor window has shape [${arr.shape}], expected [${sensorShape.t}, ${sensorShape.c}] (sensor_temporal_length × sensor_input_channels)`)
      return formats.toFloat32(arr)
    },
  }
}

async function readActions(formats: Formats, folder: string) {
  const npy = path.join(folder, 'actions.npy')
  const npz = path.join(folder, 'actions.npz')
  let arr
  if (existsSync(npy)) arr = formats.parseNpy(readFileSync(npy), npy)
  else if (existsSync(npz)) {
    const all = await formats.readNpz(npz)
    if (!all.actions) throw new formats.FormatError(npz, `has no "actions" array`)
    arr = all.actions
  } else throw new formats.FormatError(folder, `actions.npy (or actions.npz) is missing`)
  if (arr.shape.length !== 3 || arr.shape[1] !== HORIZON || arr.shape[2] !== ACTION_DIM)
    throw new formats.FormatError(folder, `actions have shape [${arr.shape}], expected [steps, ${HORIZON}, ${ACTION_DIM}]`)
  return arr
}

function numbered(dir: string, pattern: RegExp): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10) || (a < b ? -1 : 1))
    .map((f) => path.join(dir, f))
}

/** A batch's sensor tensor data: windows where present, zeros elsewhere, and the has_sensor mask. */
export function sensorBatch(data: VlaDataset, indices: number[], enabled: boolean): {windows: Float32Array; mask: Float32Array; count: number} {
  const size = data.sensorT * data.sensorC
  const windows = new Float32Array(indices.length * size)
  const mask = new Float32Array(indices.length)
  let count = 0
  indices.forEach((i, k) => {
    const w = enabled ? data.sensor(i) : undefined
    if (!w) return
    if (w.length !== size) throw new Error(`sample ${data.samples[i].id}: sensor window has ${w.length} values, expected ${data.sensorT} × ${data.sensorC}`)
    windows.set(w, k * size)
    mask[k] = 1
    count += 1
  })
  return {windows, mask, count}
}
