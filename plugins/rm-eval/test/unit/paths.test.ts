/**
 * Reliability report D5 (R4 #41, #42) for rm-eval's record reader: a dataset's own records cannot make
 * rfm open a file outside the dataset (moved from test/unit/paths/reliability-paths.test.ts).
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, symlinkSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {formats} from '@rfm/plugin-kit/testing'
import {rmEval} from '../plugin'

const {api: pluginApi} = rmEval
const {readPreferenceRecords} = rmEval.records
const scratch = mkdtempSync(path.join(os.tmpdir(), 'rfm-rm-eval-paths-'))
let n = 0
const dir = (label: string) => {
  const d = path.join(scratch, `${label}-${++n}`)
  mkdirSync(d, {recursive: true})
  return d
}

/** A dataset folder holding prefs.jsonl whose record names `image`, and a valid PNG outside it. */
function rmEvalDataset(image: string): string {
  const root = dir('rm')
  const data = path.join(root, 'data')
  mkdirSync(path.join(data, 'images'), {recursive: true})
  const png = formats.encodePng({width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(90)})
  writeFileSync(path.join(data, 'images', '0.png'), png)
  mkdirSync(path.join(root, 'elsewhere'))
  writeFileSync(path.join(root, 'elsewhere', 'x.png'), png)
  writeFileSync(path.join(data, 'prefs.jsonl'), JSON.stringify({prompt: 'q', chosen: 'a', rejected: 'b', images: [image]}) + '\n')
  return data
}

test('D5 (R4 #41, #42): rm-eval records cannot name images outside the dataset', async () => {
  for (const image of ['../../../../etc/passwd', '../elsewhere/x.png', '/etc/passwd']) {
    await assert.rejects(readPreferenceRecords(pluginApi, rmEvalDataset(image)), (e: Error & {exitCode?: number}) => {
      assert.match(e.message, /field "images": the image path .* leads outside the dataset folder/)
      assert.doesNotMatch(e.message, /PNG or JPEG/) // refused before it was opened
      assert.equal(e.exitCode, 2)
      return true
    })
  }
  // a link inside the dataset that leads out is refused too
  const data = rmEvalDataset('images/link.png')
  symlinkSync(path.join(data, '..', 'elsewhere', 'x.png'), path.join(data, 'images', 'link.png'))
  await assert.rejects(readPreferenceRecords(pluginApi, data), /leads outside/)
  assert.equal((await readPreferenceRecords(pluginApi, rmEvalDataset('images/0.png'))).length, 1)
})
