/**
 * A store outage in the middle of a run (issue #19 D1): s3rver is killed while a local-backend run
 * checkpoints to it, and restarted on the same port with the same data 6 s later. The supervisor,
 * its log appender, the runtime and the checkpoint sync must all ride it out: the trainer keeps
 * running, the log and the checkpoints written during the outage reach the store afterwards, and
 * the run ends succeeded. Before the fix the supervisor died on the log appender's error (run `lost`).
 */
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {after, before, test} from 'node:test'

import {CheckpointStore} from '../../src/checkpoint/store'
import {RunStore} from '../../src/runs/run-store'
import {S3Store} from '../../src/store/s3-store'
import {ROOT, rfm, rfmJson, tempHome, waitFor} from '../helpers/cli'
import {S3RVER_CREDENTIALS, startS3rver, type S3rverHandle} from '../helpers/s3rver'

const TRAINER = path.join(ROOT, 'test', 'fixtures', 'outage-trainer.js')
const home = tempHome()
let s3: S3rverHandle

before(async () => {
  s3 = await startS3rver()
})
after(async () => {
  await s3.stop()
  rmSync(home, {recursive: true, force: true})
})

test('a 6 s store outage mid-run: supervisor, logs, runtime and checkpoint sync ride it out', {timeout: 120_000}, async () => {
  const env = {...s3.env, RFM_STORE_RETRY_MAX_DELAY_MS: '1000'}
  for (const [key, value] of [
    ['store', `s3://${s3.bucket}/outage`],
    ['endpoint', s3.endpoint],
  ]) {
    const set = await rfm(['config', 'set', key, value], {home})
    assert.equal(set.code, 0, set.stderr)
  }
  const work = path.join(home, 'work')
  const marks = path.join(home, 'marks')
  mkdirSync(work, {recursive: true})
  mkdirSync(marks, {recursive: true})
  writeFileSync(
    path.join(work, 'job.yaml'),
    JSON.stringify({name: 'outage', command: [process.execPath, TRAINER], env: {MARK_DIR: marks}, checkpoints: {dir: 'ckpt', layout: 'hf'}, retries: {attempts: 1}}),
  )
  const launched = await rfmJson(['cloud', 'launch', 'command', '-c', path.join(work, 'job.yaml')], {home, env})
  assert.equal(launched.code, 0, launched.stdout + launched.stderr)
  const id: string = launched.json.run.id
  const store = await S3Store.open(`s3://${s3.bucket}/outage`, {endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS})
  const checkpoints = new CheckpointStore(store, id)
  await waitFor('a first checkpoint in the store', async () => ((await checkpoints.list()).length >= 2 ? true : undefined))

  await s3.kill()
  const stepAtOutage = Number(readFileSync(path.join(marks, 'step'), 'utf8'))
  await new Promise((resolve) => setTimeout(resolve, 6000))
  const stepAfterOutage = Number(readFileSync(path.join(marks, 'step'), 'utf8'))
  assert.ok(stepAfterOutage >= stepAtOutage + 10, `the trainer kept running during the outage (step ${stepAtOutage} → ${stepAfterOutage})`)
  await s3.restart()
  writeFileSync(path.join(marks, 'finish'), '')

  const runs = new RunStore(store)
  const run = await waitFor(
    'the run to end',
    async () => {
      const r = await runs.get(id)
      return ['succeeded', 'failed', 'cancelled'].includes(r.state) ? r : undefined
    },
    60_000,
  )
  const diagnostics = path.join(home, 'local', `${id}.supervisor.log`)
  assert.equal(run.state, 'succeeded', existsSync(diagnostics) ? readFileSync(diagnostics, 'utf8') : '')
  const log = (await store.get(RunStore.logKey(id, 1)))!.toString()
  // Output printed while the store was down reached the log once it was back.
  for (let step = stepAtOutage; step <= stepAfterOutage; step++) assert.match(log, new RegExp(`^step ${step}$`, 'm'))
  assert.match(log, /^trained$/m)
  // Checkpoints saved during the outage were committed afterwards, and the last one is final.
  const committed = (await checkpoints.list()).map((c) => c.step)
  assert.ok(committed.includes(stepAfterOutage), `step ${stepAfterOutage} committed (got ${committed.join(',')})`)
  const final = await checkpoints.pointer('final')
  assert.equal(final?.step, committed.at(-1))
  assert.ok(await checkpoints.read((await checkpoints.list()).at(-1)!), 'the final checkpoint verifies')
  assert.match(readFileSync(diagnostics, 'utf8'), /store unreachable/, 'the supervisor reported the outage and stayed up')
})
