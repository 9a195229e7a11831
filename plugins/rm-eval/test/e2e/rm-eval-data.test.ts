import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {before, test} from 'node:test'

import {formats, trainer as trainerCore, rfm, rfmJson, tempHome, assertSchema} from '@rfm/plugin-kit/testing'
import {EvalRow, rmEval} from '../plugin'

const home = tempHome()
const N = 24
let dir: string

/** The generated pairs as files: PNG images, half the records with plain strings + prompt, half as chat messages. */
function records() {
  return Array.from({length: N}, (_, i) => {
    const p = rmEval.data.preferencePair(trainerCore, 21, i, 16)
    const png = formats.encodePng(formats.floatToImage(p.image, 16, 16))
    const messages = (answer: string) => [
      {role: 'user', content: [{type: 'image'}, {type: 'text', text: p.query}]},
      {role: 'assistant', content: [{type: 'text', text: answer}]},
    ]
    return {
      p,
      png,
      json: i % 2 ? {prompt: p.query, chosen: p.chosen, rejected: p.rejected, images: [`images/${i}.png`]} : {chosen: messages(p.chosen), rejected: messages(p.rejected), images: [`images/${i}.png`]},
    }
  })
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-rm-data-'))
  const all = records()
  mkdirSync(path.join(dir, 'jsonl', 'images'), {recursive: true})
  for (const [i, r] of all.entries()) writeFileSync(path.join(dir, 'jsonl', 'images', `${i}.png`), r.png)
  writeFileSync(path.join(dir, 'jsonl', 'prefs.jsonl'), all.map((r) => JSON.stringify(r.json)).join('\n') + '\n')
  // the same records as a save_to_disk dataset: messages with string content, images as Image bytes
  const message = {role: {_type: 'Value', dtype: 'string'}, content: {_type: 'Value', dtype: 'string'}} as const
  await formats.writeHfDataset(
    path.join(dir, 'hf'),
    all.map(({p, png}) => ({
      images: [png],
      chosen: [
        {role: 'user', content: p.query},
        {role: 'assistant', content: p.chosen},
      ],
      rejected: [
        {role: 'user', content: p.query},
        {role: 'assistant', content: p.rejected},
      ],
    })),
    {images: {_type: 'List', feature: {_type: 'Image'}}, chosen: {_type: 'List', feature: message}, rejected: {_type: 'List', feature: message}},
    {shardRows: 10},
  )
})

test('JSONL + PNG and HF save_to_disk records read as the same pairs (strings with prompt, chat messages, Image bytes)', async () => {
  const {readPreferenceRecords} = rmEval.records
  const fromJsonl = await readPreferenceRecords(rmEval.api, path.join(dir, 'jsonl'))
  const fromHf = await readPreferenceRecords(rmEval.api, path.join(dir, 'hf'))
  assert.equal(fromJsonl.length, N)
  assert.equal(fromHf.length, N)
  const all = records()
  for (let i = 0; i < N; i++) {
    for (const got of [fromJsonl[i], fromHf[i]]) {
      assert.equal(got.query, all[i].p.query, `record ${i} query`)
      assert.equal(got.chosen, all[i].p.chosen)
      assert.equal(got.rejected, all[i].p.rejected)
      assert.deepEqual([got.image.width, got.image.height], [16, 16])
    }
    assert.deepEqual(fromJsonl[i].image.data, fromHf[i].image.data)
  }
  assert.match(fromJsonl[3].source, /prefs\.jsonl:4$/)
  assert.match(fromHf[3].source, /row 3$/)
  // max_pixels shrinks (keeping the aspect ratio), max_train_samples-like limits stop early
  const small = await readPreferenceRecords(rmEval.api, path.join(dir, 'hf'), {maxPixels: 64, limit: 5})
  assert.equal(small.length, 5)
  assert.deepEqual([small[0].image.width, small[0].image.height], [8, 8])
})

test('bad records fail with the file:line (JSONL) or row (HF) and the field, at launch and in rfm rm-eval train', async () => {
  const {readPreferenceRecords} = rmEval.records
  const bad = path.join(dir, 'bad')
  mkdirSync(bad)
  writeFileSync(path.join(bad, 'img.png'), records()[0].png)
  const cases: [string, RegExp][] = [
    ['{"chosen": "a", "images": ["img.png"]}', /bad\.jsonl:2, field "rejected": missing/],
    ['{"chosen": "a", "rejected": "b", "images": ["nope.png"]}', /bad\.jsonl:2, field "images": image file .*nope\.png does not exist/],
    ['{"chosen": [{"role": "user", "content": "q"}], "rejected": "b", "images": ["img.png"]}', /bad\.jsonl:2, field "chosen": the last message is not the assistant/],
    ['{"chosen": "a", "rejected": "b"}', /bad\.jsonl:2, field "images"/],
    ['{"chosen": "a", "rejected": "b", "images": ["img.png"]', /bad\.jsonl:2: not valid JSON/],
  ]
  for (const [line, expected] of cases) {
    writeFileSync(path.join(bad, 'bad.jsonl'), `{"chosen": "a", "rejected": "b", "images": ["img.png"]}\n${line}\n`)
    await assert.rejects(readPreferenceRecords(rmEval.api, path.join(bad, 'bad.jsonl')), (error: Error & {exitCode?: number}) => {
      assert.match(error.message, expected)
      assert.equal(error.exitCode, 2)
      return true
    })
  }
  await formats.writeHfDataset(
    path.join(dir, 'hf-bad'),
    [
      {chosen: 'a', rejected: 'b', images: [records()[0].png]},
      {chosen: 'a', rejected: null, images: []},
    ],
    {chosen: {_type: 'Value', dtype: 'string'}, rejected: {_type: 'Value', dtype: 'string'}, images: {_type: 'List', feature: {_type: 'Image'}}},
  )
  await assert.rejects(readPreferenceRecords(rmEval.api, path.join(dir, 'hf-bad')), /hf-bad, row 1, field "rejected": missing/)

  // through the CLI: a clear exit-2 error, no stack trace, before anything runs
  writeFileSync(path.join(bad, 'train.yaml'), 'dataset_path: bad.jsonl\nmax_steps: 2\n')
  for (const args of [
    ['rm-eval', 'train', path.join(bad, 'train.yaml')],
    ['cloud', 'launch', 'rm-eval', '-c', path.join(bad, 'train.yaml')],
  ]) {
    const out = await rfm(args, {home})
    assert.equal(out.code, 2, args.join(' '))
    assert.match(out.stderr, /bad\.jsonl:2: not valid JSON/)
    assert.doesNotMatch(out.stderr, /\n\s+at /)
  }
})

test('rfm rm-eval train on JSONL records, then eval on the JSONL and on the HF copy: the same numbers', async () => {
  writeFileSync(
    path.join(dir, 'train.yaml'),
    'dataset_path: jsonl/prefs.jsonl\nper_device_train_batch_size: 4\nsave_steps: 3\nuse_irrelevant_queries: true\noutput_dir: out\nmax_steps: 6\nbuiltin: {model: {width: 16, heads: 2, vision_width: 16, depth: 1}, data: {eval_size: 4}}\n',
  )
  const trained = await rfmJson(['rm-eval', 'train', path.join(dir, 'train.yaml')], {home, timeoutMs: 300_000})
  assert.equal(trained.code, 0, trained.stderr)
  assert.equal(trained.json.step, 6)
  const text = await rfm(['rm-eval', 'train', path.join(dir, 'train.yaml')], {home})
  assert.match(text.stdout, /24 records, 20 for training, 4 held out/)

  const evaluate = async (dataset: string, extra = '') => {
    const file = path.join(dir, `eval-${path.basename(dataset)}${extra ? '-irr' : ''}.yaml`)
    writeFileSync(file, `model_dirs: [out]\ndataset_path: ${dataset}\neval_batch_size: 5\nmax_eval_samples: 18\noutput_file: ${path.basename(file, '.yaml')}/results.csv\n${extra}`)
    const out = await rfmJson(['rm-eval', 'eval', file], {home, timeoutMs: 300_000})
    assert.equal(out.code, 0, out.stderr)
    assertSchema('rm-eval-eval', out.json)
    return out.json.results as EvalRow[]
  }
  const jsonl = await evaluate('jsonl')
  const hf = await evaluate('hf')
  assert.deepEqual(
    jsonl.map((r) => [r.checkpoint, r.status, r.sample_count]),
    [
      ['checkpoint-3', 'ok', 18],
      ['checkpoint-6', 'ok', 18],
    ],
  )
  assert.deepEqual(
    hf.map((r) => [r.preference_accuracy, r.avg_margin, r.margin_std]),
    jsonl.map((r) => [r.preference_accuracy, r.avg_margin, r.margin_std]),
  )
  const irrelevant = await evaluate('hf', 'builtin: {data: {irrelevant: true}}\n')
  assert.equal(irrelevant[0].sample_count, 18)
  assert.notDeepEqual(
    irrelevant.map((r) => r.avg_margin),
    hf.map((r) => r.avg_margin),
  )
  assert.match(JSON.parse(readFileSync(path.join(dir, 'eval-hf', 'results.json'), 'utf8')).dataset.kind, /records/)
})
