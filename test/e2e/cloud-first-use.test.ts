/**
 * The whole first use of the cloud path, as a new user on a laptop would do it, against the Batch
 * emulator (test/helpers/batch-emulator): `rfm infra up` (rfm's Pulumi program under mocks; its job
 * definitions, queues and job role policy feed the emulator) → `rfm build` (stand-in docker, pushes
 * to the emulated ECR) → `rfm data stage` → `rfm cloud launch command -c job.yaml` from a laptop
 * folder (mode 0700, another user's) with data, a workdir and checkpoints → a spot reclaim with the
 * notice mid-run → resume from the last checkpoint → success → `rfm cloud cost`.
 *
 * The job runs as the image's user (uid 10001) in a fresh WORKDIR; every S3 request it makes is
 * evaluated against the job role's policy (iam-simulate). Nothing here may see AccessDenied, and no
 * laptop path may appear in any request.
 */
import assert from 'node:assert/strict'
import {chmodSync, chownSync, copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {S3Client, GetObjectCommand} from '@aws-sdk/client-s3'

import {infraConfigSchema} from '../../infra/config'
import {runInfra} from '../../src/infra/run'
import {imageFromDockerfile} from '../helpers/batch-emulator/container'
import {PushLogRegistry} from '../helpers/batch-emulator/http'
import {ACCOUNT, mockedStack, type MockedStack} from '../helpers/batch-emulator/program'
import {S3IamProxy} from '../helpers/batch-emulator/s3-iam-proxy'
import {ROOT, rfm, rfmJson, tempHome, waitFor} from '../helpers/cli'
import {FakeBatch, RUNTIME} from '../helpers/fake-batch'
import {S3RVER_CREDENTIALS, startS3rver, type S3rverHandle} from '../helpers/s3rver'
import {assertSchema} from '../helpers/schema'

/** The laptop user's uid: neither root (the CLI here) nor the image's 10001. */
const LAPTOP_UID = 10002

function chownTree(dir: string, uid: number): void {
  chownSync(dir, uid, uid)
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry)
    if (statSync(full).isDirectory()) chownTree(full, uid)
    else chownSync(full, uid, uid)
  }
}

// Attempts run as the image's uid 10001 and the laptop folder belongs to another uid: only root can set that up.
const NEEDS_ROOT = process.getuid?.() === 0 ? false : 'needs root: the emulator runs attempts as uid 10001 and the laptop folder belongs to uid 10002'

describe('first use: infra up → build → data stage → launch from a laptop → spot reclaim → resume → cost', {skip: NEEDS_ROOT}, () => {
  let stack: MockedStack
  let s3: S3rverHandle
  let proxy: S3IamProxy
  let batch: FakeBatch
  let home: string
  let laptop: string
  let env: NodeJS.ProcessEnv
  let dockerLog: string

  before(async () => {
    stack = await mockedStack({region: 'us-east-1', gpuFamilies: ['g5']})
    s3 = await startS3rver(stack.outputs.bucket)
    proxy = await new S3IamProxy(s3.endpoint, {arn: stack.jobRoleArn, policy: stack.jobRolePolicy, accountId: ACCOUNT}).start()
    home = tempHome('rfm-first-use-')
    dockerLog = path.join(home, 'docker.log')
    batch = await new FakeBatch({
      runtime: RUNTIME,
      jobDefinitions: stack.jobDefinitions,
      queues: [...stack.queues.keys()],
      stack,
      hosts: [
        {instanceType: 'g5.xlarge', availabilityZone: 'us-east-1a', lifecycle: 'spot'},
        {instanceType: 'g5.2xlarge', availabilityZone: 'us-east-1b', lifecycle: 'spot'},
      ],
      container: {image: imageFromDockerfile(), credentials: S3RVER_CREDENTIALS, routes: {[s3.endpoint]: proxy.endpoint}, registry: new PushLogRegistry(dockerLog)},
      env: {RFM_CHECKPOINT_POLL_MS: '50'},
    }).start()
    const url = await batch.serveHttp({'us-east-1a': 0.3771, 'us-east-1b': 0.41}, new PushLogRegistry(dockerLog))
    env = {
      ...s3.env,
      AWS_ENDPOINT_URL_BATCH: url,
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: url,
      AWS_ENDPOINT_URL_EC2: url,
      AWS_ENDPOINT_URL_ECR: url,
      AWS_EC2_METADATA_DISABLED: 'true',
      RFM_BATCH_POLL_MS: '100',
      PATH: `${path.join(ROOT, 'test', 'fixtures', 'fake-docker')}${path.delimiter}${process.env.PATH}`,
      FAKE_DOCKER_LOG: dockerLog,
    }

    // The laptop: a project folder of another user, closed to everyone else (0700).
    laptop = path.join(home, 'alice-project')
    mkdirSync(path.join(laptop, 'data'), {recursive: true})
    copyFileSync(path.join(ROOT, 'test', 'fixtures', 'counting-trainer.js'), path.join(laptop, 'counting-trainer.js'))
    writeFileSync(
      path.join(laptop, 'train.js'),
      [
        "const fs = require('node:fs'), path = require('node:path')",
        "const rows = fs.readFileSync(path.join(process.env.RFM_DATA_DIR, 'train.jsonl'), 'utf8').trim().split('\\n')",
        'console.log(`read ${rows.length} rows from the staged data`)',
        "require('./counting-trainer.js')",
      ].join('\n'),
    )
    writeFileSync(path.join(laptop, 'data', 'train.jsonl'), Array.from({length: 20}, (_, i) => JSON.stringify({x: i, y: 2 * i})).join('\n') + '\n')
    writeFileSync(path.join(laptop, 'requirements.txt'), 'numpy==2.1.3\n')
    chownTree(laptop, LAPTOP_UID)
    chmodSync(laptop, 0o700)
  })

  after(async () => {
    await batch?.stop()
    await proxy?.stop()
    await s3?.stop()
  })

  test('the run succeeds after a reclaim, resumed from its last checkpoint; no AccessDenied, no laptop path in any request', async () => {
    // rfm infra up, with the Automation API's stack replaced by the mocked program's outputs.
    process.env.RFM_HOME = home
    const up = await runInfra(
      {action: 'up', stack: 'lab', profile: 'aws', config: infraConfigSchema.parse({region: 'us-east-1', gpuFamilies: ['g5']})},
      {findPulumi: () => '/usr/bin/pulumi', openStack: async () => stack.stackLike()},
    )
    assert.equal(up.profile?.name, 'aws')
    // The test's one hand edit: S3 is s3rver here (on AWS the SDK finds S3 by region).
    for (const args of [
      ['config', 'use', 'aws'],
      ['config', 'set', 'endpoint', s3.endpoint],
    ]) {
      const r = await rfm(args, {home, env})
      assert.equal(r.code, 0, r.stderr)
    }

    const build = await rfmJson(['build', 'command', '-r', path.join(laptop, 'requirements.txt')], {home, env, cwd: laptop})
    assert.equal(build.code, 0, `rfm build after rfm infra up: ${build.stdout}${build.stderr}`)

    const staged = await rfmJson(['data', 'stage', path.join(laptop, 'data'), '--name', 'pairs'], {home, env})
    assert.equal(staged.code, 0, staged.stderr)
    const dataRef = staged.json.ref as string
    assert.match(dataRef, /^ds:pairs@/)

    writeFileSync(
      path.join(laptop, 'job.yaml'),
      [
        'command: [node, train.js, --output_dir, out, --max_steps, "40", --save_steps, "4"]',
        `data: ${dataRef}`,
        'env: {STEP_MS: 120, CKPT_BYTES: 2048}',
        'checkpoints: {dir: out, resume_args: [--resume_from_checkpoint, "True"]}',
      ].join('\n') + '\n',
    )
    chownSync(path.join(laptop, 'job.yaml'), LAPTOP_UID, LAPTOP_UID)
    const launched = await rfmJson(['cloud', 'launch', 'command', '-c', 'job.yaml'], {home, env, cwd: laptop})
    assert.equal(launched.code, 0, `${launched.stdout}${launched.stderr}`)
    const id = launched.json.run.id as string
    const [job] = [...batch.jobs.values()]
    assert.ok(job, 'one job submitted')

    // Mid-run, after a few checkpoints were committed: EC2 posts the spot notice, then takes the host.
    const tails = () =>
      JSON.stringify({
        status: job.status,
        attempts: job.attempts.map((a) => [a.container?.exitCode, a.statusReason, a.container?.reason]),
        logs: job.attempts.map((a) => (batch.streams.get(a.container?.logStreamName ?? '') ?? []).slice(-8).map((e) => e.message)),
        denied: proxy.denied.map((r) => r.authorizations),
      })
    await waitFor(
      'two committed checkpoints in the first attempt',
      () => {
        if (job.attempts.length > 0) throw new Error(`the first attempt ended before the reclaim: ${tails()}`)
        return (batch.streams.get(job.current?.logStream ?? '')?.filter((e) => /checkpoint step \d+ committed/.test(e.message)).length ?? 0) >= 2 ? true : undefined
      },
      60_000,
    )
    assert.ok(batch.reclaim(job.jobId))

    const logs = await rfmJson(['cloud', 'logs', id, '-f'], {home, env, timeoutMs: 90_000})
    const status = await rfmJson(['cloud', 'status', id], {home, env})
    const why = tails()
    assert.equal(status.json.run.state, 'succeeded', why)
    assertSchema('cloud-status', status.json)
    const attempts = status.json.run.attempts
    assert.deepEqual([attempts[0].exitCode, attempts[0].interruptedBy, attempts[0].action], [75, 'spot-notice', 'retry'], why)
    assert.ok(attempts[0].lastCheckpointStep >= 8, why)
    assert.equal(attempts[1].resumedFromStep, attempts[0].lastCheckpointStep, 'resumed from the last checkpoint the first attempt committed')
    assert.match(logs.json.attempts.at(-1).log, /resumed at step \d+[\s\S]*done at step 40/)
    assert.match(logs.json.attempts[0].log, /read 20 rows from the staged data/)

    const cost = await rfmJson(['cloud', 'cost', id], {home, env})
    assert.equal(cost.code, 0, cost.stderr)
    assertSchema('cloud-cost', cost.json)
    assert.ok(cost.json.runs[0].totalCost > 0)

    // The final checkpoint is in the bucket.
    const client = new S3Client({endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS})
    const final = await client.send(new GetObjectCommand({Bucket: stack.outputs.bucket, Key: `runs/${id}/checkpoints/final.json`}))
    assert.equal(JSON.parse(await final.Body!.transformToString()).step, 40)
    const runJson = await (await client.send(new GetObjectCommand({Bucket: stack.outputs.bucket, Key: `runs/${id}/run.json`}))).Body!.transformToString()

    // Zero AccessDenied; zero laptop paths in what was sent to AWS or recorded for the job.
    assert.deepEqual(
      proxy.denied.map((r) => `${r.method} ${r.url}`),
      [],
    )
    assert.ok(proxy.requests.length > 10, 'the job really used S3 through the IAM proxy')
    // What reaches AWS from the laptop and the job, and the config the job runs with (run.json's
    // provenance field `file` may name the laptop's config file: it is never used as a path).
    const sent = [...batch.httpBodies, ...proxy.requests.map((r) => r.url), JSON.stringify(batch.calls.SubmitJob), JSON.stringify(JSON.parse(runJson).config)]
    assert.deepEqual(
      sent.filter((text) => text.includes(laptop) || text.includes(home)),
      [],
    )
    assert.deepEqual(batch.refused, [])
  })
})
