/**
 * Reliability report D5 for grpo's dataset reader: a JSONL row cannot make rfm open a file outside the
 * dataset (moved from test/unit/paths/reliability-paths.test.ts).
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {formats, api as pluginApi} from '@rfm/plugin-kit/testing'
import {grpoData} from '../plugin'

const scratch = mkdtempSync(path.join(os.tmpdir(), 'rfm-grpo-paths-'))
let n = 0
const dir = (label: string) => {
  const d = path.join(scratch, `${label}-${++n}`)
  mkdirSync(d, {recursive: true})
  return d
}

test('D5: grpo JSONL rows cannot lead outside the dataset', async () => {
  const root = dir('grpo')
  mkdirSync(path.join(root, 'ds'))
  writeFileSync(path.join(root, 'secret.png'), 'not even an image')
  writeFileSync(path.join(root, 'ds', 'train.jsonl'), JSON.stringify({image: '../secret.png', question: 'q', answer: 'a'}) + '\n')
  await assert.rejects(
    grpoData.loadDatasetRows(formats, path.join(root, 'ds', 'train.jsonl'), 'train', grpoData.grpoConfigSchema(pluginApi.z, pluginApi.trainerConfig).parse({min_pixels: 1, max_pixels: 1e6}), 16),
    /image "..\/secret.png" leads outside the dataset folder/,
  )
})
