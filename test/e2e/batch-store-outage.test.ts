/**
 * A store outage in the middle of a job on the Batch path (issue #19 D1; the local backend's case is
 * test/e2e/store-outage.test.ts). The emulated job runs the real runtime as the image's user, and its
 * S3 requests go through the IAM-evaluating proxy to s3rver. s3rver is killed for 5 s while the
 * trainer runs and checkpoints: the proxy then answers 502 to every request, as a front end does
 * when what is behind it is down. The runtime must ride it out: the trainer keeps running, the
 * checkpoints saved during the outage are committed after it, the job succeeds, and the log lines
 * printed during the outage reach the job's log stream.
 */
import assert from 'node:assert/strict'
import {chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {jobRolePolicy} from '../../infra/policies'
import {CheckpointStore} from '../../src/checkpoint/store'
import {S3Store} from '../../src/store/s3-store'
import {imageFromDockerfile} from '../helpers/batch-emulator/container'
import {S3IamProxy} from '../helpers/batch-emulator/s3-iam-proxy'
import {ROOT, waitFor} from '../helpers/cli'
import {batchWorld, FakeBatch, RUNTIME, type BatchWorld} from '../helpers/fake-batch'
import {S3RVER_CREDENTIALS, startS3rver, type S3rverHandle} from '../helpers/s3rver'

const ACCOUNT = '123456789012'
const NEEDS_ROOT = process.getuid?.() === 0 ? false : 'needs root: the emulator runs attempts as uid 10001'

describe('a 5 s S3 outage during a Batch job', {skip: NEEDS_ROOT}, () => {
  let s3: S3rverHandle
  let proxy: S3IamProxy
  let batch: FakeBatch
  let world: BatchWorld
  let marks: string

  before(async () => {
    s3 = await startS3rver('rfm-outage')
    Object.assign(process.env, s3.env)
    proxy = await new S3IamProxy(s3.endpoint, {arn: `arn:aws:iam::${ACCOUNT}:role/rfm-job`, policy: jobRolePolicy(`arn:aws:s3:::${s3.bucket}`), accountId: ACCOUNT}).start()
    world = await batchWorld({...s3, atBucketRoot: true})
    batch = await new FakeBatch({
      runtime: RUNTIME,
      container: {image: imageFromDockerfile(), credentials: S3RVER_CREDENTIALS, routes: {[s3.endpoint]: proxy.endpoint}},
      env: {RFM_CHECKPOINT_POLL_MS: '50', RFM_STORE_RETRY_MAX_DELAY_MS: '1000'},
    }).start()
    // The trainer (uid 10001) writes its step here; the test tells it to finish through it.
    marks = mkdtempSync(path.join(os.tmpdir(), 'rfm-outage-marks-'))
    chmodSync(marks, 0o777)
  })
  after(async () => {
    await batch?.stop()
    await proxy?.stop()
    await s3?.stop()
    rmSync(marks, {recursive: true, force: true})
    if (world) rmSync(world.dir, {recursive: true, force: true})
  })

  test('the runtime rides it out: the job succeeds, checkpoints saved during the outage are committed, its log lines arrive', {timeout: 90_000}, async () => {
    const config = world.config(['command: [node, outage-trainer.js]', `env: {MARK_DIR: ${JSON.stringify(marks)}}`, 'checkpoints: {dir: ckpt, layout: hf}', 'retries: {attempts: 1}'])
    copyFileSync(path.join(ROOT, 'test', 'fixtures', 'outage-trainer.js'), path.join(path.dirname(config), 'outage-trainer.js'))
    const run = await world.launch(config)
    const [job] = [...batch.jobs.values()]
    const logLines = () => (batch.streams.get(job.current?.logStream ?? job.attempts.at(-1)?.container?.logStreamName ?? '') ?? []).map((e) => e.message)
    const store = await S3Store.open(`s3://${s3.bucket}`, {endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS})
    const checkpoints = new CheckpointStore(store, run.id)
    await waitFor(
      'two committed checkpoints',
      async () => {
        if (['SUCCEEDED', 'FAILED'].includes(job.status)) throw new Error(`the job ended before the outage: ${logLines().slice(-8).join('\n')}`)
        return (await checkpoints.list()).length >= 2 ? true : undefined
      },
      60_000,
    )

    await s3.kill()
    const stepAtOutage = Number(readFileSync(path.join(marks, 'step'), 'utf8'))
    await new Promise((resolve) => setTimeout(resolve, 5000))
    const stepAfterOutage = Number(readFileSync(path.join(marks, 'step'), 'utf8'))
    await s3.restart()
    assert.equal(job.status, 'RUNNING', 'the attempt is still running after the outage')
    assert.ok(stepAfterOutage >= stepAtOutage + 10, `the trainer kept running during the outage (step ${stepAtOutage} → ${stepAfterOutage})`)
    writeFileSync(path.join(marks, 'finish'), '')

    const ended = await world.finish(run, 60_000)
    const lines = logLines()
    assert.equal(ended.state, 'succeeded', lines.slice(-12).join('\n'))
    assert.equal(job.attempts.length, 1, 'no retry was needed')
    // The runtime saw the outage and said so, then carried on.
    assert.ok(
      lines.some((l) => /store unreachable/.test(l)),
      'the runtime reported the outage',
    )
    // … and nothing failed for it: no commit gave up, no event was dropped.
    assert.deepEqual(
      lines.filter((l) => /could not record an event|runtime failed/.test(l)),
      [],
    )
    // Every line the trainer printed during the outage reached the log stream.
    for (let step = stepAtOutage; step <= stepAfterOutage; step++)
      assert.ok(
        lines.some((l) => l === `step ${step}`),
        `log line "step ${step}"`,
      )
    assert.ok(lines.includes('trained'))
    // Checkpoints saved during the outage were committed after it; the final one verifies.
    const committed = (await checkpoints.list()).map((c) => c.step)
    for (const step of [stepAtOutage + 1, stepAfterOutage]) assert.ok(committed.includes(step), `step ${step} committed (got ${committed.join(',')})`)
    const final = await checkpoints.pointer('final')
    assert.equal(final?.step, committed.at(-1))
    assert.ok(await checkpoints.read((await checkpoints.list()).at(-1)!), 'the final checkpoint verifies')
    // The commits made after the outage are in the run's events too (they are written to the store).
    const events = await world.runs.events(run.id)
    assert.deepEqual(
      events.filter((e) => e.type === 'checkpoint_failed'),
      [],
      'no commit failed during the outage',
    )
    const committedEvents = events.filter((e) => e.type === 'checkpoint_committed').map((e) => e.step as number)
    assert.ok(committedEvents.includes(stepAfterOutage), `a checkpoint_committed event for step ${stepAfterOutage}`)
    assert.deepEqual(
      proxy.denied.map((r) => `${r.method} ${r.url}`),
      [],
      'the job role allowed every request',
    )
  })
})
