import assert from 'node:assert/strict'
import {cpSync, existsSync, mkdtempSync, readFileSync, truncateSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {before, test} from 'node:test'

import {assertSchema, launchOnFakeBatch, rfm, rfmJson, tempHome, TestRun as RunRecord, trainerContext} from '@rfm/plugin-kit/testing'
import {EvalRow, rmEval} from '../plugin'

// Three tiny checkpoints in a folder (steps 2, 4 and a corrupt copy), a model dir that does not
// exist, and an rfm training run of the store (steps 2 and 4): six rows.
let work: string
let trainRun: string
let reference: EvalRow[]
const home = tempHome()

before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'rfm-rm-evaljob-'))
  const runDir = path.join(work, 'run-a')
  const config = {per_device_train_batch_size: 4, save_steps: 2, max_steps: 4, builtin: {seed: 3, model: {width: 16, heads: 2, vision_width: 16, depth: 1}, data: {train_size: 16, eval_size: 4}}}
  await rmEval.train.trainRewardModel(rmEval.api, trainerContext(config, new rmEval.local.LocalCheckpoints(runDir)))
  cpSync(path.join(runDir, 'checkpoint-2'), path.join(runDir, 'checkpoint-7'), {recursive: true})
  truncateSync(path.join(runDir, 'checkpoint-7', 'model.safetensors'), 100)
  writeFileSync(
    path.join(work, 'train.yaml'),
    'per_device_train_batch_size: 4\nsave_steps: 2\nmax_steps: 4\nbuiltin: {seed: 4, model: {width: 16, heads: 2, vision_width: 16, depth: 1}, data: {train_size: 16, eval_size: 4}}\n',
  )
  const trained = await rfmJson(['cloud', 'launch', 'rm-eval', '-c', path.join(work, 'train.yaml'), '--follow'], {home, timeoutMs: 300_000})
  assert.equal(trained.code, 0, trained.stderr)
  trainRun = trained.json.run.id
  writeFileSync(
    path.join(work, 'eval.yaml'),
    `model_dirs: [run-a, no-such-dir, ${trainRun}]\ncheckpoint_pattern: "checkpoint-*"\neval_batch_size: 7\noutput_file: evaluation_results.csv\nbuiltin: {data: {seed: 9, start: 100, size: 20}}\n`,
  )
  // the reference: the same config evaluated here, by the eval command
  const here = await rfmJson(['rm-eval', 'eval', path.join(work, 'eval.yaml')], {home, timeoutMs: 300_000})
  assert.equal(here.code, 0, here.stderr)
  reference = here.json.results as EvalRow[]
  assert.deepEqual(
    reference.map((r) => `${r.checkpoint}:${r.status}`),
    ['checkpoint-2:ok', 'checkpoint-4:ok', 'checkpoint-7:error', ':error', 'checkpoint-2:ok', 'checkpoint-4:ok'],
  )
})

/** The rows of a job, compared with the reference by checkpoint and metrics (model dirs are absolute in a job). */
function assertSameRows(rows: EvalRow[], what: string) {
  assert.equal(rows.length, reference.length, what)
  for (const [i, row] of rows.entries()) {
    const ref = reference[i]
    assert.equal(path.basename(row.model_dir), path.basename(ref.model_dir), `${what} row ${i}`)
    for (const k of ['checkpoint', 'step', 'preference_accuracy', 'avg_margin', 'margin_std', 'sample_count', 'status'] as const) assert.equal(row[k], ref[k], `${what} row ${i} ${k}`)
  }
}

test('mode eval on the local backend: one job scores every checkpoint in order; results in the store under the run, merged by rfm rm-eval eval --merge', async () => {
  const launched = await rfmJson(['cloud', 'launch', 'rm-eval', '-c', path.join(work, 'eval.yaml'), '--eval', '--follow'], {home, timeoutMs: 300_000})
  assert.equal(launched.code, 0, launched.stderr)
  const run = launched.json.run as RunRecord
  assert.equal(run.state, 'succeeded')
  assert.equal(run.config.mode, 'eval')

  // the job's final checkpoint is the report (rfm ckpt pull RUN DIR --final)
  const pulled = await rfmJson(['ckpt', 'pull', run.id, path.join(work, 'pulled'), '--final'], {home})
  assert.equal(pulled.code, 0, pulled.stderr)
  assert.equal(pulled.json.step, 6, 'one commit per scored item: step = items done')
  for (const f of ['evaluation_results.csv', 'evaluation_results.json']) assert.ok(existsSync(path.join(work, 'pulled', f)), f)
  assert.ok((pulled.json.files as string[]).some((f) => /^logs\/eval_.*\.log$/.test(f)))

  const out = path.join(work, 'merged-local')
  const merged = await rfmJson(['rm-eval', 'eval', '--merge', run.id, '--out', out], {home})
  assert.equal(merged.code, 0, merged.stderr)
  assertSchema('rm-eval-eval', merged.json)
  assertSameRows(merged.json.results, 'local job')
  assert.deepEqual(merged.json.parts, [{index: null, rows: 6, status: 'ok'}])
  const csv = readFileSync(path.join(out, 'evaluation_results.csv'), 'utf8').trim().split('\n')
  assert.equal(csv.length, 1 + reference.length)
  assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'evaluation_results.json'), 'utf8')).results, merged.json.results)
  const text = await rfm(['rm-eval', 'eval', '--merge', run.id, '--out', out], {home})
  const best = merged.json.best as EvalRow
  assert.match(text.stdout, new RegExp(`^\\*\\s+${best.model_dir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\s+${best.checkpoint}\\s`, 'm'), 'the best checkpoint is marked')
})

test('an eval job killed mid-way (chaos) resumes after its last scored checkpoint and ends with the same rows', async (t) => {
  const launched = await rfmJson(
    [
      'cloud',
      'launch',
      'rm-eval',
      '-c',
      path.join(work, 'eval.yaml'),
      '--eval',
      '--set',
      'max_eval_samples=400',
      '--set',
      'builtin.data.size=400',
      '--follow',
      '--chaos',
      'kills=2,seed=4,signal=mixed,min=1,max=2.5',
    ],
    {home, timeoutMs: 300_000},
  )
  assert.equal(launched.code, 0, launched.stderr)
  const run = launched.json.run as RunRecord
  assert.equal(run.state, 'succeeded')
  const resumed = run.attempts.filter((a) => a.resumedFromStep !== undefined)
  t.diagnostic(`attempts (kill, resumed from step): ${JSON.stringify(run.attempts.map((a) => [a.chaos ?? null, a.resumedFromStep ?? null]))}`)
  const out = path.join(work, 'merged-chaos')
  const merged = await rfmJson(['rm-eval', 'eval', '--merge', run.id, '--out', out], {home})
  assert.equal(merged.code, 0, merged.stderr)
  // the same job uninterrupted
  const plain = await rfmJson(['cloud', 'launch', 'rm-eval', '-c', path.join(work, 'eval.yaml'), '--eval', '--set', 'max_eval_samples=400', '--set', 'builtin.data.size=400', '--follow'], {
    home,
    timeoutMs: 300_000,
  })
  const reference = await rfmJson(['rm-eval', 'eval', '--merge', plain.json.run.id, '--out', path.join(work, 'merged-plain')], {home})
  assert.deepEqual(merged.json.results, reference.json.results)
  assert.equal(merged.json.results.filter((r: EvalRow) => r.status === 'ok').length, 4)
  // kills that land while checkpoints are scored make later attempts resume (not asserted: timing)
  for (const a of resumed) assert.ok(a.resumedFromStep! >= 1 && a.resumedFromStep! <= 6)
})

test('mode eval on AWS Batch (--array 2): each child scores every second checkpoint; the merge restores the order and equals the local evaluation', async () => {
  // the store of the other test (it holds the training run); the merge reads it through a local profile
  const batchHome = tempHome()
  const storeUrl = `file://${home}/store`
  writeFileSync(path.join(batchHome, 'config.json'), JSON.stringify({active: 'here', profiles: {here: {backend: 'local', store: storeUrl}}}))
  // this plugin's own folder (dist-test/e2e → the plugin root)
  const pluginRoot = path.resolve(__dirname, '..', '..')
  const run = await launchOnFakeBatch({pluginRoot, kind: 'rm-eval', file: path.join(work, 'eval.yaml'), sets: ['mode=eval'], store: storeUrl, arraySize: 2})
  assert.equal(run.state, 'succeeded', run.reason)
  assert.deepEqual(run.backend.arrayStatus, {SUCCEEDED: 2})

  // each child's part holds its own rows: items 0, 2, 4 and items 1, 3, 5
  for (const [index, expected] of [
    [0, ['checkpoint-2', 'checkpoint-7', 'checkpoint-2']],
    [1, ['checkpoint-4', '', 'checkpoint-4']],
  ] as const) {
    const part = await rfmJson(['ckpt', 'pull', run.id, path.join(work, `part-${index}`), '--final', '--array-index', String(index)], {home: batchHome})
    assert.equal(part.code, 0, part.stderr)
    const rows = JSON.parse(readFileSync(path.join(work, `part-${index}`, 'evaluation_results.json'), 'utf8')).results as EvalRow[]
    assert.deepEqual(
      rows.map((r) => r.checkpoint),
      expected,
    )
  }
  const out = path.join(work, 'merged-batch')
  const merged = await rfmJson(['rm-eval', 'eval', '--merge', run.id, '--out', out], {home: batchHome})
  assert.equal(merged.code, 0, merged.stderr)
  assertSchema('rm-eval-eval', merged.json)
  assertSameRows(merged.json.results, 'batch array job')
  assert.deepEqual(
    merged.json.parts.map((p: {status: string; rows: number}) => [p.status, p.rows]),
    [
      ['ok', 3],
      ['ok', 3],
    ],
  )
  assert.match(readFileSync(merged.json.log_file, 'utf8'), /array child 1/)
})
