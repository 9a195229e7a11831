/**
 * Reliability report D5 for vla-sensor's session reader: a session's views cannot lead outside the
 * dataset (moved from test/unit/paths/reliability-paths.test.ts).
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {formats} from '@rfm/plugin-kit/testing'
import {vla} from '../plugin'

const scratch = mkdtempSync(path.join(os.tmpdir(), 'rfm-vla-paths-'))
let n = 0
const dir = (label: string) => {
  const d = path.join(scratch, `${label}-${++n}`)
  mkdirSync(d, {recursive: true})
  return d
}

test('D5: vla session views cannot lead outside the dataset', async () => {
  const sessions = dir('vla')
  mkdirSync(path.join(sessions, 's0', 'images'), {recursive: true})
  writeFileSync(path.join(sessions, 's0', 'meta.json'), JSON.stringify({instruction: 'go', views: ['../../..']}))
  writeFileSync(path.join(sessions, 's0', 'actions.npy'), formats.encodeNpy({dtype: 'f4', shape: [1, 8, 7], data: new Float32Array(56)}))
  await assert.rejects(vla.sessions.directoryDataset(formats, sessions, 0, {t: 4, c: 3}), /the view "..\/..\/.." leads outside/)
})
