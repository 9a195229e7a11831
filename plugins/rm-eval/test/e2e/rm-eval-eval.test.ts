import assert from 'node:assert/strict'
import {cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import type {ModelConfig} from '@rfm/plugin-api'
import {trainer, trainer as trainerCore, rfm, rfmJson, tempHome, assertSchema, trainerContext} from '@rfm/plugin-kit/testing'
import {EvalRow, rmEval} from '../plugin'

const {decodeSafetensors, patchifyHost, Rng, selectBackend, tokenizerFromJSON, Vlm} = trainer

const home = tempHome()
const DATA = {seed: 5, start: 500, size: 24}

/** The by-hand reference: one pair at a time, rewards from the model's head, metrics from their definitions. */
async function byHand(dir: string): Promise<{accuracy: number; mean: number; std: number; n: number}> {
  const {tf} = await selectBackend('auto')
  const config = JSON.parse(readFileSync(path.join(dir, 'model_config.json'), 'utf8')) as ModelConfig
  const tokenizer = tokenizerFromJSON(JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')))
  const model = new Vlm(tf, config, new Rng(0))
  model.store.load(decodeSafetensors(readFileSync(path.join(dir, 'model.safetensors'))).tensors)
  const margins: number[] = []
  for (let i = 0; i < DATA.size; i++) {
    const p = rmEval.data.preferencePair(trainerCore, DATA.seed, DATA.start + i, config.vision!.imageSize)
    const v = config.vision!
    const prefix = (v.imageSize / v.patchSize) ** 2
    const w = model.store.get('heads.reward.weight').dataSync()
    const bias = model.store.get('heads.reward.bias').dataSync()[0]
    // the reward's definition: the head's score at each response token and the EOS, averaged
    const reward = (response: string) => {
      const ids = [1, ...tokenizer.encode(p.query), ...tokenizer.encode(response), 2]
      const padded = [...new Array(config.contextLength - ids.length).fill(0), ...ids]
      const out = model.forward({tokens: tf.tensor2d(padded, [1, padded.length], 'int32'), patches: tf.tensor3d(patchifyHost([p.image], v), [1, prefix, v.patchSize * v.patchSize * 3])}, false)
      const hidden = out.hidden.dataSync()
      const scored = tokenizer.encode(response).length + 1
      let sum = 0
      for (let pos = config.contextLength - scored; pos < config.contextLength; pos++) {
        let score = bias
        for (let k = 0; k < config.width; k++) score += hidden[(prefix + pos) * config.width + k] * w[k]
        sum += score
      }
      return sum / scored
    }
    margins.push(reward(p.chosen) - reward(p.rejected))
  }
  model.dispose()
  const mean = margins.reduce((a, b) => a + b, 0) / margins.length
  return {accuracy: margins.filter((m) => m > 0).length / margins.length, mean, std: Math.sqrt(margins.reduce((a, m) => a + (m - mean) ** 2, 0) / margins.length), n: margins.length}
}

function parseCsv(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trim().split('\n')
  const columns = header.split(',')
  // error messages may be quoted; the rows of this test hold no commas inside numbers
  return lines.map((line) => {
    const cells: string[] = []
    for (const m of line.matchAll(/("([^"]|"")*"|[^,]*)(,|$)/g)) {
      if (m.index === line.length && cells.length === columns.length) break
      cells.push(m[1].startsWith('"') ? m[1].slice(1, -1).replaceAll('""', '"') : m[1])
    }
    return Object.fromEntries(columns.map((c, i) => [c, cells[i]]))
  })
}

test('rm-eval eval scores every checkpoint; CSV, JSON and a by-hand computation agree; broken checkpoints get error rows', async () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'rfm-rm-eval-'))
  const runDir = path.join(work, 'run-a')
  const config = {per_device_train_batch_size: 4, save_steps: 2, max_steps: 4, builtin: {seed: 1, model: {width: 16, heads: 2, vision_width: 16, depth: 1}, data: {train_size: 16, eval_size: 4}}}
  await rmEval.train.trainRewardModel(rmEval.api, trainerContext(config, new rmEval.local.LocalCheckpoints(runDir)))
  // a checkpoint with a truncated weights file and one without weights
  cpSync(path.join(runDir, 'checkpoint-2'), path.join(runDir, 'checkpoint-7'), {recursive: true})
  truncateSync(path.join(runDir, 'checkpoint-7', 'model.safetensors'), 100)
  cpSync(path.join(runDir, 'checkpoint-2'), path.join(runDir, 'checkpoint-9'), {recursive: true})
  rmSync(path.join(runDir, 'checkpoint-9', 'model.safetensors'))
  mkdirSync(path.join(runDir, 'unrelated'))
  writeFileSync(
    path.join(work, 'eval.yaml'),
    `model_dirs: [run-a, no-such-run]\ndataset_path: generated\ncheckpoint_pattern: "checkpoint-*"\neval_batch_size: 5\nmax_eval_samples: ${DATA.size}\noutput_file: out/evaluation_results.csv\nbuiltin: {data: {seed: ${DATA.seed}, start: ${DATA.start}, size: 1000}}\n`,
  )
  const {code, json, stderr} = await rfmJson(['rm-eval', 'eval', path.join(work, 'eval.yaml')], {home, timeoutMs: 120_000})
  assert.equal(code, 0, stderr)
  assertSchema('rm-eval-eval', json)
  const rows = json.results as EvalRow[]
  assert.deepEqual(
    rows.map((r) => `${r.model_dir}/${r.checkpoint}:${r.status}`),
    ['run-a/checkpoint-2:ok', 'run-a/checkpoint-4:ok', 'run-a/checkpoint-7:error', 'run-a/checkpoint-9:error', 'no-such-run/:error'],
  )
  assert.match(rows[2].error!, /model\.safetensors is corrupt/)
  assert.match(rows[3].error!, /model\.safetensors is missing/)
  assert.match(rows[4].error!, /not found/)

  const csv = parseCsv(readFileSync(path.join(work, 'out', 'evaluation_results.csv'), 'utf8'))
  const twin = JSON.parse(readFileSync(path.join(work, 'out', 'evaluation_results.json'), 'utf8')) as {results: EvalRow[]; best: EvalRow}
  assert.deepEqual(twin.results, rows)
  assert.equal(csv.length, rows.length)
  for (const [i, row] of rows.entries()) {
    for (const key of ['preference_accuracy', 'avg_margin', 'margin_std', 'step'] as const) assert.equal(csv[i][key] === '' ? null : Number(csv[i][key]), row[key], `${key} of row ${i}`)
    assert.equal(Number(csv[i].sample_count), row.sample_count)
    assert.equal(csv[i].status, row.status)
    if (row.status !== 'ok') continue
    const hand = await byHand(path.join(runDir, row.checkpoint))
    assert.equal(row.sample_count, hand.n)
    assert.equal(row.preference_accuracy, hand.accuracy)
    assert.ok(Math.abs(row.avg_margin! - hand.mean) < 1e-5, `${row.avg_margin} vs ${hand.mean}`)
    assert.ok(Math.abs(row.margin_std! - hand.std) < 1e-5, `${row.margin_std} vs ${hand.std}`)
  }
  const ok = rows.filter((r) => r.status === 'ok')
  const bestAccuracy = Math.max(...ok.map((r) => r.preference_accuracy!))
  assert.equal(json.best.preference_accuracy, bestAccuracy)
  assert.deepEqual(twin.best, json.best)
  assert.match(readFileSync(json.log_file, 'utf8'), /checkpoint-7: ERROR/)
  assert.match(path.basename(json.log_file), /^eval_.*\.log$/)

  // the terminal table marks the best checkpoint
  const text = await rfm(['rm-eval', 'eval', path.join(work, 'eval.yaml')], {home, timeoutMs: 120_000})
  assert.equal(text.code, 0, text.stderr)
  assert.match(text.stdout, new RegExp(`^\\*\\s+run-a\\s+${json.best.checkpoint}\\s`, 'm'))
})

test('rm-eval eval rejects a config with a bad key, naming it, without a stack trace', async () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'rfm-rm-eval-'))
  writeFileSync(path.join(work, 'eval.yaml'), 'model_dirs: [a]\neval_batch_size: 0\n')
  const result = await rfm(['rm-eval', 'eval', path.join(work, 'eval.yaml')], {home})
  assert.equal(result.code, 2)
  assert.match(result.stderr, /eval_batch_size/)
  assert.doesNotMatch(result.stderr, /\n\s+at /)
})

test('rm-eval train writes checkpoint-<step> folders, reports keys that do not apply, and refuses the external mode by key', async () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'rfm-rm-train-'))
  writeFileSync(
    path.join(work, 'train.yaml'),
    'per_device_train_batch_size: 4\nsave_steps: 2\nbf16: true\ndeepspeed: zero2.json\noutput_dir: out\nmax_steps: 4\nbuiltin: {model: {width: 16, heads: 2, vision_width: 16, depth: 1}, data: {train_size: 16, eval_size: 4}}\n',
  )
  const {code, json, stderr} = await rfmJson(['rm-eval', 'train', path.join(work, 'train.yaml')], {home, timeoutMs: 120_000})
  assert.equal(code, 0, stderr)
  assertSchema('rm-eval-train', json)
  assert.equal(json.step, 4)
  assert.equal(json.finished, true)
  assert.deepEqual(new rmEval.local.LocalCheckpoints(path.join(work, 'out')).steps(), [2, 4])
  const text = await rfm(['rm-eval', 'train', path.join(work, 'train.yaml')], {home, timeoutMs: 120_000})
  assert.equal(text.code, 0, text.stderr)
  assert.match(text.stdout, /bf16: not applicable to the built-in trainer/)
  assert.match(text.stdout, /deepspeed: not applicable/)
  assert.match(text.stdout, /resumed from checkpoint at step 4/)

  writeFileSync(path.join(work, 'bad.yaml'), 'model_name_or_path: /models/Qwen2.5-VL-7B\n')
  const bad = await rfm(['rm-eval', 'train', path.join(work, 'bad.yaml')], {home})
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /model_name_or_path/)
  assert.match(bad.stderr, /external mode/)
})
