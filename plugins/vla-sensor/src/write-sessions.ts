/** Writes generated sessions in the directory layout the loader reads (see sessions.ts). */
import {mkdirSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'

import type {Formats} from './formats'
import type {VlaDataset} from './sessions'

export function writeSessions(formats: Formats, data: VlaDataset, dir: string): {sessions: number; sensorSessions: number; samples: number} {
  const tmp = `${dir}.tmp-${process.pid}`
  rmSync(tmp, {recursive: true, force: true})
  const bySession = new Map<number, number[]>()
  data.samples.forEach((s, i) => bySession.set(s.session, [...(bySession.get(s.session) ?? []), i]))
  let sensorSessions = 0
  for (const [session, indices] of bySession) {
    const folder = path.join(tmp, `session-${String(session).padStart(4, '0')}`)
    const first = data.samples[indices[0]]
    const views = Array.from({length: data.views}, (_, v) => `cam${v}`)
    mkdirSync(folder, {recursive: true})
    writeFileSync(path.join(folder, 'meta.json'), JSON.stringify({instruction: first.instruction, views}) + '\n')
    const chunk = first.actions.length
    const actions = new Float32Array(indices.length * chunk)
    indices.forEach((i, t) => actions.set(data.samples[i].actions, t * chunk))
    writeFileSync(path.join(folder, 'actions.npy'), formats.encodeNpy({dtype: 'f4', shape: [indices.length, 8, chunk / 8], data: actions}))
    for (const v of views) mkdirSync(path.join(folder, 'images', v), {recursive: true})
    if (first.hasSensor) {
      mkdirSync(path.join(folder, 'sensor'))
      sensorSessions += 1
    }
    indices.forEach((i, t) => {
      const name = String(t).padStart(6, '0')
      data.images(i).forEach((img, v) => writeFileSync(path.join(folder, 'images', views[v], `${name}.png`), formats.encodePng(formats.floatToImage(img.data, img.width, img.height))))
      const w = data.sensor(i)
      if (w) writeFileSync(path.join(folder, 'sensor', `${name}.npy`), formats.encodeNpy({dtype: 'f4', shape: [data.sensorT, data.sensorC], data: w}))
    })
  }
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(path.dirname(dir), {recursive: true})
  renameSync(tmp, dir)
  return {sessions: bySession.size, sensorSessions, samples: data.samples.length}
}
