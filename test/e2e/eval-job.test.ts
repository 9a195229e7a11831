/**
 * `rfm cloud launch eval`: the report is committed after every checkpoint; a job killed (SIGKILL,
 * a real signal to the runtime process) resumes after its last committed checkpoint and ends with
 * the rows of an uninterrupted job; on AWS Batch (the fake Batch) `--array 2` splits the
 * checkpoints between two children; external mode runs the user's script on each pulled checkpoint.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {before, test} from 'node:test'

import {BatchBackend} from '../../src/backends/aws-batch'
import {CheckpointStore} from '../../src/checkpoint/store'
import type {Profile} from '../../src/config/profiles'
import type {EvalReport} from '../../src/eval/report'
import {launchRun} from '../../src/jobs/launch'
import {findKind, loadKinds} from '../../src/jobs/registry'
import {resolveJob} from '../../src/jobs/resolve'
import {FINAL_STATES} from '../../src/runs/record'
import {RunStore} from '../../src/runs/run-store'
import {openStore} from '../../src/store/open'
import {rfm, rfmJson, tempHome, waitFor} from '../helpers/cli'
import {writeVsr} from '../helpers/eval-benchmarks'
import {FakeBatch, finishOnBatch, IMAGE, JOB_DEFINITION, QUEUES, RUNTIME} from '../helpers/fake-batch'
import {assertSchema} from '../helpers/schema'

const home = tempHome()
let work: string
let trainRun: string

before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'rfm-eval-job-'))
  const trained = await rfmJson(['cloud', 'launch', 'vlm', '-c', 'examples/vlm/quick.yaml', '--set', 'max_steps=6', '--set', 'trainer.save_steps=1', '--set', 'trainer.eval_steps=0', '--follow'], {
    home,
    timeoutMs: 120_000,
  })
  assert.equal(trained.code, 0, trained.stderr)
  trainRun = trained.json.run.id
  writeVsr(path.join(work, 'vsr'), 40)
  writeFileSync(
    path.join(work, 'eval.yaml'),
    `model: ${trainRun}\nbenchmarks: {vsr: vsr}\nretries: {attempts: 3, evaluate_on_exit: [{on_signal: SIGKILL, action: retry}, {on_exit_code: "*", action: exit}]}\n`,
  )
})

async function finalReport(runId: string, index?: number): Promise<EvalReport & {step: number}> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-eval-job-pull-'))
  const pulled = await rfmJson(['ckpt', 'pull', runId, dir, '--final', ...(index === undefined ? [] : ['--array-index', String(index)])], {home})
  assert.equal(pulled.code, 0, pulled.stderr)
  assert.ok((pulled.json.files as string[]).some((f) => /^logs\/eval_.*\.log$/.test(f)))
  return {...(JSON.parse(readFileSync(path.join(dir, 'eval_results.json'), 'utf8')) as EvalReport), step: pulled.json.step}
}

test('an eval job killed with SIGKILL after its first committed checkpoint resumes after it and ends with the rows of an uninterrupted job', async () => {
  const plain = await rfmJson(['cloud', 'launch', 'eval', '-c', path.join(work, 'eval.yaml'), '--follow'], {home, timeoutMs: 180_000})
  assert.equal(plain.code, 0, plain.stderr)
  const reference = await finalReport(plain.json.run.id)
  const {step: _step, ...file} = reference
  assertSchema('eval', file)
  assert.equal(reference.step, 6, 'one commit per checkpoint evaluated')
  assert.deepEqual(
    reference.done,
    [1, 2, 3, 4, 5, 6].map((s) => `${trainRun}@${s}`),
  )

  const launched = await rfmJson(['cloud', 'launch', 'eval', '-c', path.join(work, 'eval.yaml')], {home})
  assert.equal(launched.code, 0, launched.stderr)
  const runs = new RunStore(await openStore(`file://${home}/store`))
  const id = launched.json.run.id as string
  const committed = new CheckpointStore(runs.store, id)
  const pid = await waitFor(
    'the first committed checkpoint',
    async () => {
      const steps = (await committed.list()).map((c) => c.step)
      const run = await runs.get(id)
      return steps.length >= 1 && steps.length < 6 && run.attempts[0]?.pid ? run.attempts[0].pid : undefined
    },
    120_000,
  )
  process.kill(pid, 'SIGKILL')
  const run = await waitFor(
    'the run to finish',
    async () => {
      const r = await runs.get(id)
      return FINAL_STATES.has(r.state) ? r : undefined
    },
    180_000,
  )
  assert.equal(run.state, 'succeeded', run.reason)
  assert.equal(run.attempts[0].signal, 'SIGKILL')
  assert.ok(run.attempts[1].resumedFromStep! >= 1, JSON.stringify(run.attempts))
  const logs = await rfm(['cloud', 'logs', id], {home})
  assert.match(logs.stdout, /resuming after \d evaluated checkpoint\(s\)/)
  const resumed = await finalReport(id)
  assert.deepEqual(resumed.results, reference.results)
})

test('on AWS Batch (the fake Batch) --array 2: child i evaluates checkpoints i, i+2, …; together they equal the local job', async () => {
  const storeUrl = `file://${home}/store`
  const profile: Profile = {backend: 'aws-batch', store: storeUrl, region: 'us-east-1', queues: QUEUES, jobDefinitions: {eval: JOB_DEFINITION}, logGroup: '/rfm/jobs'}
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
  const fake = await new FakeBatch({runtime: RUNTIME}).start()
  try {
    const runs = new RunStore(await openStore(storeUrl))
    const backend = new BatchBackend({profile, resolveImage: async () => IMAGE, pollMs: 25})
    const job = await resolveJob(findKind(await loadKinds([]), 'eval'), {file: path.join(work, 'eval.yaml'), sets: ['max_samples=8']})
    const launched = await launchRun(job, {profile: {name: 'batch', profile, defaults: []}, runs, backend}, {batch: {arraySize: 2}})
    const run = await finishOnBatch(backend, runs, launched, 150_000)
    assert.equal(run.state, 'succeeded', run.reason)
    assert.deepEqual(run.backend.arrayStatus, {SUCCEEDED: 2})
    const parts = [await finalReport(run.id, 0), await finalReport(run.id, 1)]
    assert.deepEqual(
      parts[0].done,
      [1, 3, 5].map((s) => `${trainRun}@${s}`),
    )
    assert.deepEqual(
      parts[1].done,
      [2, 4, 6].map((s) => `${trainRun}@${s}`),
    )
    assert.deepEqual(
      parts.map((p) => p.array),
      [
        {index: 0, size: 2},
        {index: 1, size: 2},
      ],
    )
    const local = await rfmJson(['eval', trainRun, '--benchmark', `vsr=${path.join(work, 'vsr')}`, '--max-samples', '8'], {home, timeoutMs: 120_000})
    const merged = [...parts[0].results, ...parts[1].results].sort((a, b) => a.step! - b.step!)
    assert.deepEqual(merged, local.json.results)
  } finally {
    await fake.stop()
    delete process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED
  }
})

test("external mode runs the user's evaluation script once per checkpoint on its pulled files; what it writes to {output_dir} is committed", async () => {
  const script = path.join(work, 'scripts')
  await import('node:fs').then((fs) => fs.mkdirSync(script, {recursive: true}))
  writeFileSync(
    path.join(script, 'evaluate.js'),
    `const fs = require('fs'), path = require('path')
const args = process.argv.slice(2), get = (k) => args[args.indexOf(k) + 1]
const model = get('--model_path'), out = get('--output_dir')
const config = JSON.parse(fs.readFileSync(path.join(model, 'model_config.json'), 'utf8'))
fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify({benchmarks: get('--benchmarks'), width: config.width, max_samples: get('--max_samples'), step: process.env.RFM_STEP}))
console.log('evaluated', process.env.RFM_CHECKPOINT)
`,
  )
  writeFileSync(
    path.join(work, 'external.yaml'),
    `model: ${trainRun}\ncheckpoints: final\nmax_samples: 100\nexternal:\n  workdir: scripts\n  command: [node, evaluate.js, --model_path, "{model_path}", --benchmarks, VSR, --output_dir, "{output_dir}", --max_samples, "{max_samples}"]\n`,
  )
  const launched = await rfmJson(['cloud', 'launch', 'eval', '-c', path.join(work, 'external.yaml'), '--follow'], {home, timeoutMs: 120_000})
  assert.equal(launched.code, 0, launched.stderr)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-eval-ext-'))
  const pulled = await rfmJson(['ckpt', 'pull', launched.json.run.id, dir, '--final'], {home})
  assert.equal(pulled.code, 0, pulled.stderr)
  const report = JSON.parse(readFileSync(path.join(dir, 'eval_results.json'), 'utf8')) as EvalReport
  assert.deepEqual(
    report.results.map((r) => [r.checkpoint, r.benchmark, r.status]),
    [[`${trainRun}@6`, 'external', 'ok']],
  )
  const results = JSON.parse(readFileSync(path.join(dir, 'external', `${trainRun}@6`, 'results.json'), 'utf8'))
  assert.deepEqual(results, {benchmarks: 'VSR', width: 64, max_samples: '100', step: '6'})
  assert.match(
    readFileSync(
      path.join(
        dir,
        (pulled.json.files as string[]).find((f) => f.startsWith('logs/'))!,
      ),
      'utf8',
    ),
    new RegExp(`\\| evaluated ${trainRun}@6`),
  )
})
