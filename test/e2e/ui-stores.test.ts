/**
 * `rfm ui` on an s3:// store (s3rver: a real S3-protocol server) with a real local run, and the
 * cost of an AWS Batch run (spot, reclaimed once) as the dashboard shows it.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {LocalBackend} from '../../src/backends/local'
import {runCost, type PriceSource} from '../../src/cost/report'
import type {RunRecord} from '../../src/runs/record'
import {RunStore} from '../../src/runs/run-store'
import {S3Store} from '../../src/store/s3-store'
import {FileStore} from '../../src/store/file-store'
import {startUi} from '../../src/ui/server'
import {BIN, ROOT, rfm, rfmJson, tempHome} from '../helpers/cli'
import {S3RVER_CREDENTIALS, startS3rver, type S3rverHandle} from '../helpers/s3rver'
import {assertSchema} from '../helpers/schema'

async function get(base: string, p: string): Promise<{status: number; body: any}> {
  const res = await fetch(new URL(p, base))
  const text = await res.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // a page
  }
  return {status: res.status, body}
}

describe('rfm ui on an s3:// store', () => {
  let s3: S3rverHandle
  const home = tempHome('rfm-ui-s3-')
  before(async () => {
    s3 = await startS3rver()
  })
  after(async () => {
    await s3?.stop()
  })

  test('lists a local run whose store is S3, serves its log and checkpoints, and reads metrics as they are appended', async () => {
    for (const [key, value] of [
      ['store', `s3://${s3.bucket}/ui`],
      ['endpoint', s3.endpoint],
    ]) {
      const set = await rfm(['config', 'set', key, value], {home})
      assert.equal(set.code, 0, set.stderr)
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-ui-s3-job-'))
    const trainer = path.join(ROOT, 'test', 'fixtures', 'counting-trainer.js')
    writeFileSync(
      path.join(dir, 'job.yaml'),
      `command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(trainer)}, --output_dir, out, --max_steps, "12", --save_steps, "4"]\nenv: {STEP_MS: 10}\ncheckpoints: {dir: out, resume_args: [--resume_from_checkpoint, "True"]}\n`,
    )
    const launched = await rfmJson(['cloud', 'launch', 'command', '-c', path.join(dir, 'job.yaml'), '--follow'], {home, env: s3.env, timeoutMs: 90_000})
    assert.equal(launched.code, 0, launched.stderr)
    const id = (launched.json.run as RunRecord).id

    // A metrics.jsonl written in two pieces, the way the runtime appends it.
    const store = await S3Store.open(`s3://${s3.bucket}/ui`, {endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS})
    const line = (step: number) => JSON.stringify({step, time: new Date(Date.now() + step).toISOString(), loss: 1 / step}) + '\n'
    await store.append(RunStore.runKey(id, 'metrics.jsonl'), line(1) + line(2) + line(3).slice(0, 10))

    const child = spawn(process.execPath, [BIN, 'ui', '--port', '0', '--no-open', '--json'], {
      cwd: ROOT,
      env: {...process.env, ...s3.env, RFM_HOME: home, RFM_PROFILE: undefined},
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout!.on('data', (d) => {
          out += d
          try {
            resolve((JSON.parse(out) as {url: string}).url)
          } catch {
            // not all of it yet
          }
        })
        child.once('exit', (code) => reject(new Error(`rfm ui exited ${code}: ${out}`)))
      })
      const list = await get(url, '/api/runs')
      assertSchema('cloud-ls', list.body)
      assert.deepEqual(
        list.body.runs.map((r: {id: string}) => r.id),
        [id],
      )
      assert.equal((await get(url, `/runs/${id}`)).status, 200)
      const logs = await get(url, `/api/runs/${id}/logs`)
      assertSchema('cloud-logs', logs.body)
      assert.match(logs.body.attempts[0].log, /done at step 12/)
      const ckpts = await get(url, `/api/runs/${id}/checkpoints`)
      assertSchema('ckpt-ls', ckpts.body)
      assert.deepEqual(ckpts.body.checkpoints.map((c: {step: number}) => c.step).at(-1), 12)

      const first = await get(url, `/api/runs/${id}/metrics`)
      assertSchema('ui-metrics', first.body)
      assert.deepEqual(first.body.series[0].step, [1, 2], 'a half-written last line waits')
      await store.append(RunStore.runKey(id, 'metrics.jsonl'), line(3).slice(10) + line(4))
      const second = await get(url, `/api/runs/${id}/metrics`)
      assert.deepEqual(second.body.series[0].step, [1, 2, 3, 4])
    } finally {
      child.kill()
    }
  })
})

test('an AWS Batch run reclaimed once: the cost report, cost so far and the interruption marker', async () => {
  const store = new FileStore(`file://${mkdtempSync(path.join(os.tmpdir(), 'rfm-ui-cost-'))}`)
  const runs = new RunStore(store)
  const start = Date.parse('2026-11-20T10:00:00Z')
  const at = (minutes: number) => new Date(start + minutes * 60_000).toISOString()
  const run: RunRecord = {
    schemaVersion: 1,
    id: 'sft-20261120-100000-c0de',
    kind: 'sft',
    plugin: {name: '@rfm/plugin-sft'},
    state: 'succeeded',
    createdAt: at(0),
    updatedAt: at(95),
    endedAt: at(95),
    profile: 'aws',
    store: store.url,
    backend: {name: 'aws-batch', request: {queue: 'spot'}},
    config: {},
    source: {overrides: []},
    retries: {attempts: 3, evaluate_on_exit: []},
    attempts: [
      {
        index: 1,
        startedAt: at(0),
        endedAt: at(40),
        exitCode: 75,
        action: 'retry',
        interruptedBy: 'spot-reclaim',
        ...({instanceType: 'g5.xlarge', availabilityZone: 'us-east-1a', lifecycle: 'spot'} as object),
      },
      {index: 2, startedAt: at(45), endedAt: at(95), exitCode: 0, action: 'exit', resumedFromStep: 300, ...({instanceType: 'g5.xlarge', availabilityZone: 'us-east-1b', lifecycle: 'spot'} as object)},
    ],
  }
  await runs.create(run)
  await runs.appendEvent(run.id, {type: 'checkpoint_committed', time: at(30), attempt: 1, step: 300, bytes: 10})
  await store.put(
    RunStore.runKey(run.id, 'metrics.jsonl'),
    [100, 200, 300, 350, 400, 500].map((step, i) => JSON.stringify({step, time: at([10, 20, 30, 38, 60, 90][i]), loss: 1 / step})).join('\n') + '\n',
  )
  // Spot prices as DescribeSpotPriceHistory reports them: the price in force from each timestamp on.
  const prices: PriceSource = {
    spotHistory: async (_type, zone) =>
      zone === 'us-east-1a'
        ? [{time: start - 3_600_000, price: 0.6}]
        : [
            {time: start - 3_600_000, price: 0.4},
            {time: start + 60 * 60_000, price: 0.5},
          ],
    onDemandPrice: async () => 1.006,
  }
  const ui = await startUi({runs, backend: new LocalBackend(), profile: 'aws', host: '127.0.0.1', port: 0, prices})
  try {
    const expected = await runCost(run, await runs.events(run.id), prices)
    const cost = await get(ui.url, `/api/runs/${run.id}/cost`)
    assertSchema('cloud-cost', cost.body)
    assert.deepEqual(cost.body.runs[0], expected)
    // 40 min at $0.60 + 15 min at $0.40 + 35 min at $0.50
    assert.equal(cost.body.total.cost, 0.791667)
    assert.equal(cost.body.runs[0].attempts[0].lostSeconds, 600, 'the 10 minutes after the step-300 checkpoint were lost')
    const dashboard = await get(ui.url, '/api/dashboard')
    assertSchema('ui-dashboard', dashboard.body)
    assert.deepEqual(dashboard.body.runs[0].cost, {applicable: true, total: expected.totalCost})
    assert.equal(dashboard.body.runs[0].interruptions, 1)
    // Evaluation results: a table from a results file; a file of another shape is left out, not an error.
    await store.put(
      RunStore.runKey(run.id, 'evaluation_results.json'),
      JSON.stringify({
        evaluated_at: at(96),
        results: [
          {model_dir: 'out', checkpoint: 'checkpoint-300', accuracy: 0.91},
          {model_dir: 'out', checkpoint: 'checkpoint-600', accuracy: 0.94},
        ],
      }),
    )
    await store.put(RunStore.runKey(run.id, 'eval/other_results.json'), '{"not": "a table"')
    const results = await get(ui.url, `/api/runs/${run.id}/results`)
    assertSchema('ui-results', results.body)
    assert.deepEqual(
      results.body.tables.map((t: {source: string; columns: string[]; rows: unknown[]}) => [t.source, t.columns, t.rows.length]),
      [[`runs/${run.id}/evaluation_results.json`, ['model_dir', 'checkpoint', 'accuracy'], 2]],
    )

    const metrics = await get(ui.url, `/api/runs/${run.id}/metrics`)
    const interruption = metrics.body.markers.find((m: {kind: string}) => m.kind === 'interruption')
    assert.deepEqual([interruption.step, interruption.label], [350, 'attempt 1 interrupted: spot-reclaim'])
  } finally {
    await ui.close()
  }
})
