/**
 * GRPO datasets: Hugging Face save_to_disk (Dataset and DatasetDict, laid out as Python's `datasets`
 * writes them, Image struct columns with PNG/JPEG bytes) and JSONL + image files; invalid rows fail
 * naming the row, or are skipped and counted with skip_invalid; a short GRPO run on such a dataset.
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import type {HfFeatures} from '@rfm/plugin-api'
import {formats, api as pluginApi, MemoryCheckpoints, trainerContext} from '@rfm/plugin-kit/testing'
import {grpoData, grpoTrain} from '../plugin'

const features: HfFeatures = {
  image: {_type: 'Image'},
  question: {_type: 'Value', dtype: 'string'},
  answer: {_type: 'Value', dtype: 'string'},
  reference_steps: {_type: 'Sequence', feature: {_type: 'Value', dtype: 'string'}},
  choices: {_type: 'Sequence', feature: {_type: 'Value', dtype: 'string'}},
  options: {_type: 'Sequence', feature: {_type: 'Value', dtype: 'string'}},
  source: {_type: 'Value', dtype: 'string'},
}

/** a w×h picture: left half red, right half blue */
function picture(w: number, h: number): Uint8Array {
  const data = new Uint8Array(w * h * 3)
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(x < w / 2 ? [220, 20, 20] : [20, 20, 220], (y * w + x) * 3)
  return formats.encodePng({width: w, height: h, data})
}

function jpeg(w: number, h: number): Uint8Array {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const enc = require('jpeg-js') as {encode(img: {data: Uint8Array; width: number; height: number}, q: number): {data: Uint8Array}}
  const rgba = new Uint8Array(w * h * 4).fill(255)
  for (let i = 0; i < w * h; i++) rgba.set([30, 200, 30, 255], i * 4)
  return enc.encode({data: rgba, width: w, height: h}, 90).data
}

const row = (i: number, extra: Record<string, unknown> = {}) => ({
  image: {bytes: picture(40 + i, 30), path: null},
  question: `which side is red ? ${i}`,
  answer: 'left',
  reference_steps: ['the red half is on the left', 'so left'],
  choices: [],
  options: [],
  source: 'test',
  ...extra,
})

const config = (extra: Record<string, unknown> = {}) => grpoData.grpoConfigSchema(pluginApi.z, pluginApi.trainerConfig).parse({min_pixels: 64, max_pixels: 1024, ...extra})

test('a save_to_disk Dataset loads: fields, option lists, PNG and JPEG bytes resized to the model input', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-grpo-hf-'))
  const rows = [row(0), row(1, {choices: ['A. left', 'B. right'], answer: 'A'}), row(2, {image: {bytes: jpeg(32, 24), path: null}, options: ['red', 'green']})]
  await formats.writeHfDataset(dir, rows, features, {shardRows: 2})
  // the layout Python's datasets writes: stream shards, dataset_info.json with the features, state.json
  assert.deepEqual(readdirSync(dir).sort(), ['data-00000-of-00002.arrow', 'data-00001-of-00002.arrow', 'dataset_info.json', 'state.json'])
  assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'dataset_info.json'), 'utf8')).features.image, {_type: 'Image'})
  const loaded = await grpoData.loadDatasetRows(formats, grpoData.resolveDatasetLocation(dir, 'train'), 'train', config(), 8)
  assert.equal(loaded.rows.length, 3)
  assert.equal(loaded.skipped, 0)
  assert.deepEqual(
    loaded.rows.map((r) => [r.question, r.answer]),
    rows.map((r) => [r.question, r.answer]),
  )
  assert.deepEqual(loaded.rows[0].referenceSteps, ['the red half is on the left', 'so left'])
  assert.deepEqual(loaded.rows[1].choices, ['A. left', 'B. right'])
  assert.deepEqual(loaded.rows[2].options, ['red', 'green'])
  assert.equal(loaded.rows[0].source, 'test')
  for (const r of loaded.rows) assert.equal(r.image.length, 8 * 8 * 3)
  // pixels survive decoding and resizing: red on the left, blue on the right; the JPEG is green
  const px = (img: Float32Array, x: number, y: number) => Array.from(img.slice((y * 8 + x) * 3, (y * 8 + x) * 3 + 3))
  assert.ok(px(loaded.rows[0].image, 1, 4)[0] > 0.7 && px(loaded.rows[0].image, 6, 4)[2] > 0.7)
  assert.ok(px(loaded.rows[2].image, 4, 4)[1] > 0.6)
})

test('a DatasetDict: dataset_split picks the split; a missing split is named', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-grpo-hfdict-'))
  await formats.writeHfDatasetDict(dir, {train: [row(0), row(1), row(2)], test: [row(3)]}, features)
  assert.equal((await grpoData.loadDatasetRows(formats, dir, 'train', config(), 8)).rows.length, 3)
  const held = await grpoData.loadDatasetRows(formats, dir, 'test', config(), 8)
  assert.deepEqual(
    held.rows.map((r) => r.question),
    ['which side is red ? 3'],
  )
  await assert.rejects(grpoData.loadDatasetRows(formats, dir, 'validation', config(), 8), /no split "validation"/)
})

test('invalid rows fail naming the row and field; with skip_invalid they are skipped and counted', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-grpo-bad-'))
  const rows = [row(0), row(1, {answer: '  '}), row(2, {image: {bytes: Uint8Array.from([1, 2, 3, 4]), path: null}}), row(3, {reference_steps: null}), row(4, {question: null}), row(5)]
  await formats.writeHfDataset(dir, rows, features)
  await assert.rejects(grpoData.loadDatasetRows(formats, dir, 'train', config(), 8), (e: Error) => /row 1: answer is empty/.test(e.message) && /--skip-invalid/.test(e.message))
  const loaded = await grpoData.loadDatasetRows(formats, dir, 'train', config({skip_invalid: true}), 8)
  assert.equal(loaded.rows.length, 2)
  assert.equal(loaded.skipped, 4)
  assert.match(loaded.skippedWhy.join('\n'), /row 1: answer is empty/)
  assert.match(loaded.skippedWhy.join('\n'), /row 2: image does not decode/)
  assert.match(loaded.skippedWhy.join('\n'), /row 3: reference_steps is missing/)
  assert.match(loaded.skippedWhy.join('\n'), /row 4: question is missing/)
})

test('JSONL + image files (a file, or a folder holding <split>.jsonl); a missing image names the line', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-grpo-jsonl-'))
  mkdirSync(path.join(dir, 'images'))
  writeFileSync(path.join(dir, 'images', 'a.png'), picture(20, 20))
  const lines = [
    {image: 'images/a.png', question: 'which side is red ?', answer: 'left', reference_steps: ['red is left']},
    {image: 'images/missing.png', question: 'q', answer: 'a', reference_steps: []},
    {image: 'images/a.png', question: 'how many halves ?', answer: '2', reference_steps: [], options: ['1', '2']},
  ]
  writeFileSync(path.join(dir, 'train.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n')
  assert.equal(grpoData.resolveDatasetLocation(dir, 'train'), path.join(dir, 'train.jsonl'))
  await assert.rejects(grpoData.loadDatasetRows(formats, path.join(dir, 'train.jsonl'), 'train', config(), 8), /train\.jsonl line 2: image .*missing\.png cannot be read/)
  const loaded = await grpoData.loadDatasetRows(formats, path.join(dir, 'train.jsonl'), 'train', config({skip_invalid: true}), 8)
  assert.deepEqual(
    loaded.rows.map((r) => r.answer),
    ['left', '2'],
  )
  assert.deepEqual(loaded.rows[1].options, ['1', '2'])
  assert.equal(loaded.skipped, 1)
})

test('GRPO trains on a save_to_disk dataset (held-out rows from eval_split), with skip_invalid', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-grpo-hftrain-'))
  const train = Array.from({length: 8}, (_, i) => row(i, i % 2 ? {answer: 'right', question: `which side is blue ? ${i}`} : {}))
  await formats.writeHfDatasetDict(dir, {train: [...train, row(9, {answer: ''})], test: [row(10), row(11)]}, features)
  const ctx = trainerContext(
    {
      dataset_name: dir,
      eval_split: 'test',
      skip_invalid: true,
      reward_funcs: ['format', 'accuracy', 'reasoning'],
      max_steps: 2,
      num_generations: 4,
      per_device_train_batch_size: 8,
      max_completion_length: 6,
      builtin: {model: {width: 16, depth: 1, heads: 2, vision_width: 16, context_length: 32, image_size: 8}},
    },
    new MemoryCheckpoints(),
  )
  const result = await grpoTrain.trainGrpo(pluginApi, ctx)
  assert.equal(result.step, 2)
  assert.ok(
    ctx.logs.some((l) => /skipped 1 invalid rows .*row 8: answer is empty/.test(l)),
    ctx.logs.join('\n'),
  )
  assert.ok(ctx.logs.some((l) => /8 prompts, 2 held out/.test(l)))
  const last = ctx.metrics.at(-1)!.values
  assert.equal(typeof last['eval_rewards/reasoning/mean'], 'number')
})

test('variants Python writes load too: datasets 4 "List" features, Python key order, extra info fields, an image by path only', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-grpo-hf4-'))
  await formats.writeHfDataset(dir, [row(0), row(1, {image: {bytes: null, path: 'pic.png'}})], features)
  writeFileSync(path.join(dir, 'pic.png'), picture(12, 12))
  // rewrite the schema metadata and dataset_info.json as datasets 4.x lays them out
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const arrow = require('apache-arrow') as typeof import('apache-arrow')
  const file = path.join(dir, 'data-00000-of-00001.arrow')
  const table = arrow.tableFromIPC(readFileSync(file))
  const value = {dtype: 'string', _type: 'Value'}
  const list = {feature: value, _type: 'List'}
  const py = {image: {decode: true, _type: 'Image'}, question: value, answer: value, reference_steps: list, choices: list, options: list, source: value}
  const metadata = new Map(table.schema.metadata)
  metadata.set('huggingface', JSON.stringify({info: {features: py}}))
  const rewritten = new arrow.Table(
    new arrow.Schema(table.schema.fields, metadata),
    table.batches.map((b) => new arrow.RecordBatch(new arrow.Schema(table.schema.fields, metadata), b.data)),
  )
  writeFileSync(file, arrow.tableToIPC(rewritten, 'stream'))
  writeFileSync(
    path.join(dir, 'dataset_info.json'),
    JSON.stringify(
      {
        builder_name: null,
        citation: '',
        config_name: null,
        dataset_name: null,
        dataset_size: null,
        description: '',
        download_checksums: null,
        download_size: null,
        features: py,
        homepage: '',
        license: '',
        size_in_bytes: null,
        splits: null,
        supervised_keys: null,
        version: null,
      },
      null,
      2,
    ),
  )
  const loaded = await grpoData.loadDatasetRows(formats, dir, 'train', config(), 8)
  assert.equal(loaded.rows.length, 2)
  assert.deepEqual(loaded.rows[1].referenceSteps, ['the red half is on the left', 'so left'])
  assert.ok(loaded.rows[1].image[0] > 0.7, 'the image read from its path: red at the left')
})
