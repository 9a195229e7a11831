/**
 * Issue #19 D15: the runtime's errors name a dataset as the user knows it (its ds: reference, and
 * the path it was staged from at launch), never the pulled copy under $RFM_DATA_CACHE/<hash>/.
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import * as formats from '../../src/formats'
import {datasetLabel, nameDatasetsIn} from '../../src/runtime/datasets'
import {rfm, rfmJson, tempHome} from '../helpers/cli'

test('a format error in a pulled copy names the file within the dataset, its reference and where it was staged from', async () => {
  const copy = path.join(mkdtempSync(path.join(os.tmpdir(), 'rfm-data-cache-')), 'aba716a3c1633699b4d7')
  mkdirSync(path.join(copy, 'shards'), {recursive: true})
  writeFileSync(path.join(copy, 'shards', 'train.jsonl'), '{"a": 1}\n{"a": 2}\n{"a": \n')
  const error = await (async () => {
    for await (const _ of formats.readJsonl(path.join(copy, 'shards', 'train.jsonl'))) void _
  })().catch((e: Error) => e)
  assert.ok(error instanceof formats.FormatError)
  const copies = new Map([[copy, datasetLabel('ds:robot@aba716a3c163', './data/train')]])
  const named = nameDatasetsIn(error.message, copies)
  assert.match(named, /^shards\/train\.jsonl:3 of dataset ds:robot@aba716a3c163 \(staged from \.\/data\/train\): not valid JSON/)
  assert.ok(!named.includes(copy), named)
  // The folder itself (a missing split, an empty folder) and a ref given as such.
  assert.equal(nameDatasetsIn(`${copy}: no .arrow data files`, new Map([[copy, datasetLabel('ds:x@1')]])), 'dataset ds:x@1: no .arrow data files')
  assert.equal(nameDatasetsIn(`${copy}/a.png, row 4, field "image": not a PNG`, copies), 'a.png of dataset ds:robot@aba716a3c163 (staged from ./data/train), row 4, field "image": not a PNG')
  assert.equal(nameDatasetsIn('unrelated', copies), 'unrelated')
})

test('a bad row only the runtime reads (a staged ds: dataset): the run fails naming the row of the dataset, not the cache', {timeout: 120_000}, async () => {
  const home = tempHome()
  const cache = path.join(home, 'data-cache')
  const env = {RFM_DATA_CACHE: cache}
  const dir = path.join(home, 'grpo-ds')
  mkdirSync(dir, {recursive: true})
  writeFileSync(path.join(dir, 'a.png'), formats.encodePng({width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(120)}))
  const row = JSON.stringify({image: 'a.png', question: 'What is shown?', answer: 'a square', reference_steps: ['look']})
  writeFileSync(path.join(dir, 'train.jsonl'), `${row}\n${row.slice(0, 20)}\n`)
  // Staged by hand, then referenced: the launch checks only that the reference exists.
  const staged = await rfmJson(['data', 'stage', dir, '--name', 'bad'], {home, env})
  assert.equal(staged.code, 0, staged.stderr)
  const launched = await rfm(['cloud', 'launch', 'grpo', '--set', `dataset_name=${staged.json.ref}`, '--follow'], {home, env})
  const output = launched.stdout + launched.stderr
  assert.notEqual(launched.code, 0, output)
  assert.match(output, new RegExp(`runtime failed: train\\.jsonl:2 of dataset ${staged.json.ref}: not valid JSON`))
  assert.ok(!/runtime failed: .*data-cache/.test(output), output)
})
