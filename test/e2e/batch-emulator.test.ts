/**
 * The Batch emulator itself (test/helpers/batch-emulator): it must refuse and fail where AWS
 * would, or the tests built on it prove nothing. Each case is one rule quoted in the emulator.
 */
import assert from 'node:assert/strict'
import {chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {after, before, describe, test} from 'node:test'

import type {JobDefinition, SubmitJobCommandInput} from '@aws-sdk/client-batch'
import {GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'

import {jobRolePolicy} from '../../infra/policies'
import {FakeBatch, OOM_REASON, TIMEOUT_REASON, type FakeJob} from '../helpers/batch-emulator/batch'
import type {ContainerImage} from '../helpers/batch-emulator/container'
import {S3IamProxy} from '../helpers/batch-emulator/s3-iam-proxy'
import {waitFor} from '../helpers/cli'
import {S3RVER_CREDENTIALS, startS3rver, type S3rverHandle} from '../helpers/s3rver'

const QUEUE = 'arn:aws:batch:us-east-1:123456789012:job-queue/rfm-spot'
const DEFINITION = 'arn:aws:batch:us-east-1:123456789012:job-definition/probe:1'

/** A probe "image": reports what it sees, then does what PROBE_MODE says. */
function probeImage(): {image: ContainerImage; laptop: string} {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-emu-probe-'))
  chmodSync(dir, 0o755)
  const laptop = path.join(dir, 'laptop')
  mkdirSync(laptop, {mode: 0o700})
  writeFileSync(path.join(laptop, 'secret.txt'), 'x')
  const script = path.join(dir, 'probe.js')
  writeFileSync(
    script,
    `const fs = require('node:fs')
let laptop = 'readable'
try { fs.readdirSync(${JSON.stringify(laptop)}) } catch (e) { laptop = e.code }
console.log(JSON.stringify({uid: process.getuid(), gid: process.getgid(), cwd: process.cwd(), entries: fs.readdirSync('.'), env: Object.keys(process.env).sort(), laptop}))
const mode = process.env.PROBE_MODE
if (mode === 'oom') { const keep = []; setInterval(() => keep.push(Buffer.alloc(32 << 20, 1)), 20) }
else if (mode === 'sleep' || mode === 'ignore-notice') setInterval(() => {}, 1000)
`,
  )
  chmodSync(script, 0o644)
  return {image: {uid: 10001, gid: 10001, workdir: '/home/rfm', env: {PATH: '/usr/bin:/bin'}, entrypoint: ['node', script]}, laptop}
}

const definition = (retryAttempts: number, type = 'container'): JobDefinition => ({
  jobDefinitionArn: DEFINITION,
  jobDefinitionName: 'probe',
  revision: 1,
  status: 'ACTIVE',
  type,
  containerProperties: {
    image: 'probe',
    environment: [{name: 'FROM_DEFINITION', value: '1'}],
    resourceRequirements: [
      {type: 'VCPU', value: '4'},
      {type: 'MEMORY', value: '2048'},
    ],
  },
  retryStrategy: {
    attempts: retryAttempts,
    evaluateOnExit: [
      {onStatusReason: 'Host EC2*', action: 'RETRY'},
      {onReason: '*', action: 'EXIT'},
    ],
  },
})

const submit = (overrides: Partial<SubmitJobCommandInput> = {}): SubmitJobCommandInput => ({jobName: 'probe-1', jobQueue: QUEUE, jobDefinition: DEFINITION, ...overrides})

async function ended(batch: FakeBatch, jobId: string): Promise<FakeJob> {
  return waitFor(`job ${jobId} to end`, () => (['SUCCEEDED', 'FAILED'].includes(batch.job(jobId).status) ? batch.job(jobId) : undefined), 30_000)
}

describe('SubmitJob validation, per the API reference', () => {
  let batch: FakeBatch
  before(async () => {
    batch = await new FakeBatch({runtime: '', jobDefinitions: [definition(2)], queues: [QUEUE], hold: true}).start()
  })
  after(() => batch.stop())

  const refused: Array<[string, Partial<SubmitJobCommandInput>]> = [
    ['more than 5 evaluateOnExit rules', {retryStrategy: {attempts: 2, evaluateOnExit: Array.from({length: 6}, () => ({onExitCode: '1', action: 'EXIT' as const}))}}],
    ['11 attempts', {retryStrategy: {attempts: 11}}],
    ['0 attempts', {retryStrategy: {attempts: 0}}],
    ['a timeout under 60 s', {timeout: {attemptDurationSeconds: 59}}],
    ['a job name with a space', {jobName: 'my job'}],
    ['a job name starting with a hyphen', {jobName: '-job'}],
    ['an aws: tag key', {tags: {'aws:owner': 'x'}}],
    ['a tag value with a comma', {tags: {owner: 'a,b'}}],
    ['an array of 1', {arrayProperties: {size: 1}}],
    ['an array of 10001', {arrayProperties: {size: 10_001}}],
    ['nodeOverrides for a container definition', {nodeOverrides: {numNodes: 2}}],
    ['an onExitCode with letters', {retryStrategy: {attempts: 2, evaluateOnExit: [{onExitCode: 'abc', action: 'EXIT'}]}}],
    ['an unknown queue', {jobQueue: 'arn:aws:batch:us-east-1:123456789012:job-queue/nope'}],
    ['an unknown job definition', {jobDefinition: 'nope:1'}],
  ]
  for (const [what, overrides] of refused) {
    test(`refuses ${what} with a ClientException`, () => {
      assert.throws(
        () => batch.submitJob(submit(overrides)),
        (error: Error) => error.name === 'ClientException',
      )
    })
  }

  test('accepts the limits themselves: 5 rules, 10 attempts, 60 s, array 2 and 10000', () => {
    batch.submitJob(submit({retryStrategy: {attempts: 10, evaluateOnExit: Array.from({length: 5}, () => ({onExitCode: '1*', action: 'exit' as 'EXIT'}))}, timeout: {attemptDurationSeconds: 60}}))
    batch.submitJob(submit({arrayProperties: {size: 2}}))
    batch.submitJob(submit({arrayProperties: {size: 10_000}, jobName: 'A_b-9'}))
  })

  test('overrides replace the definition: environment by name, resources by type, retry strategy and timeout whole', () => {
    const {jobId} = batch.submitJob(
      submit({containerOverrides: {environment: [{name: 'FROM_DEFINITION', value: '2'}], resourceRequirements: [{type: 'MEMORY', value: '1024'}]}, retryStrategy: {attempts: 1}}),
    )
    const job = batch.job(jobId)
    assert.equal(job.effective.environment.get('FROM_DEFINITION'), '2')
    assert.deepEqual([job.effective.vcpus, job.effective.memoryMiB], [4, 1024])
    assert.deepEqual(job.effective.retryStrategy, {attempts: 1})
    const plain = batch.job(batch.submitJob(submit()).jobId)
    assert.equal(plain.effective.retryStrategy?.attempts, 2, "no override: the definition's strategy applies")
  })
})

describe('containers, the spot notice, OOM and timeouts', {skip: process.getuid?.() === 0 ? false : 'needs root: attempts run as uid 10001'}, () => {
  let batch: FakeBatch
  let laptop: string
  let probeDir: string
  before(async () => {
    const probe = probeImage()
    laptop = probe.laptop
    probeDir = path.dirname(probe.laptop)
    batch = await new FakeBatch({runtime: '', jobDefinitions: [definition(2)], queues: [QUEUE], container: {image: probe.image, credentials: S3RVER_CREDENTIALS}, secondsMs: 10, graceMs: 300}).start()
  })
  after(async () => {
    await batch.stop()
    rmSync(probeDir, {recursive: true, force: true})
  })

  const report = (job: FakeJob, attempt = 0) => JSON.parse(batch.streams.get(job.attempts[attempt].container!.logStreamName!)![0].message)

  test("an attempt runs as uid 10001 in a fresh empty workdir, with only the container's environment, and cannot read a 0700 folder", async () => {
    const job = await ended(batch, batch.submitJob(submit({containerOverrides: {environment: [{name: 'FROM_OVERRIDE', value: 'x'}]}})).jobId)
    assert.equal(job.status, 'SUCCEEDED')
    const seen = report(job)
    assert.deepEqual([seen.uid, seen.gid, seen.entries, seen.laptop], [10001, 10001, [], 'EACCES'])
    assert.ok(!seen.cwd.startsWith(laptop))
    assert.ok(seen.env.includes('FROM_DEFINITION') && seen.env.includes('FROM_OVERRIDE') && seen.env.includes('AWS_BATCH_JOB_ID'))
    // names a container has anyway: its own PATH/HOME/HOSTNAME/TMPDIR, and the SDK switch the emulator
    // sets with the job role's credentials (CI exports it too, so a same-named variable is no leak)
    const own = ['PATH', 'HOME', 'HOSTNAME', 'TMPDIR', 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED']
    for (const name of Object.keys(process.env).filter((n) => !own.includes(n))) assert.ok(!seen.env.includes(name), `${name} leaked from the launching process`)
    assert.deepEqual(batch.describeJobs({jobs: [job.jobId]}).jobs[0].container?.resourceRequirements, [
      {type: 'VCPU', value: '4'},
      {type: 'MEMORY', value: '2048'},
    ])
  })

  test("the MEMORY requirement is a hard limit: killed with Batch's OOM reason, and the definition's onReason * EXIT applies", async () => {
    const job = await ended(batch, batch.submitJob(submit({containerOverrides: {environment: [{name: 'PROBE_MODE', value: 'oom'}], resourceRequirements: [{type: 'MEMORY', value: '128'}]}})).jobId)
    assert.equal(job.status, 'FAILED')
    assert.equal(job.attempts.length, 1)
    assert.deepEqual([job.attempts[0].container?.exitCode, job.attempts[0].container?.reason], [137, OOM_REASON])
  })

  test('an attempt that times out is not retried, whatever the retry strategy', async () => {
    const job = await ended(
      batch,
      batch.submitJob(submit({containerOverrides: {environment: [{name: 'PROBE_MODE', value: 'sleep'}]}, timeout: {attemptDurationSeconds: 60}, retryStrategy: {attempts: 5}})).jobId,
    )
    assert.deepEqual([job.status, job.attempts.length, job.attempts[0].statusReason], ['FAILED', 1, TIMEOUT_REASON])
  })

  test('a reclaim posts the notice at IMDSv2 (the token PUT needs its TTL header), then the host goes: "Host EC2 (instance i-…) terminated." is retried', async () => {
    const {jobId} = batch.submitJob(submit({containerOverrides: {environment: [{name: 'PROBE_MODE', value: 'ignore-notice'}]}}))
    const key = await waitFor('the attempt to run', () => (batch.job(jobId).status === 'RUNNING' ? `${jobId}-1` : undefined))
    const base = batch.imds.endpointFor(key)
    assert.equal((await fetch(`${base}/latest/api/token`, {method: 'PUT'})).status, 400, 'no TTL header')
    assert.equal((await fetch(`${base}/latest/meta-data/instance-type`)).status, 401, 'IMDSv1 is off (httpTokens required)')
    const token = await (await fetch(`${base}/latest/api/token`, {method: 'PUT', headers: {'X-aws-ec2-metadata-token-ttl-seconds': '300'}})).text()
    const action = () => fetch(`${base}/latest/meta-data/spot/instance-action`, {headers: {'X-aws-ec2-metadata-token': token}})
    assert.equal((await action()).status, 404, 'no notice before the reclaim')
    assert.ok(batch.reclaim(jobId))
    const notice = (await (await action()).json()) as {action: string; time: string}
    assert.equal(notice.action, 'terminate')
    assert.ok(Date.parse(notice.time) - Date.now() > 100_000, 'two minutes ahead')
    await waitFor('the retry', () => (batch.job(jobId).attempts.length === 1 ? true : undefined))
    assert.match(batch.job(jobId).attempts[0].statusReason ?? '', /^Host EC2 \(instance i-[0-9a-f]{17}\) terminated\.$/)
    batch.terminateJob({jobId, reason: 'done'})
    await ended(batch, jobId)
  })
})

describe('the S3 IAM proxy', () => {
  let s3: S3rverHandle
  let proxy: S3IamProxy
  let client: S3Client
  before(async () => {
    s3 = await startS3rver('emu-bucket')
    proxy = await new S3IamProxy(s3.endpoint, {arn: 'arn:aws:iam::123456789012:role/job', policy: jobRolePolicy('arn:aws:s3:::emu-bucket'), accountId: '123456789012'}).start()
    client = new S3Client({endpoint: proxy.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS})
  })
  after(async () => {
    await proxy.stop()
    await s3.stop()
  })

  test('what the job role grants passes; what it does not is a 403 AccessDenied, as S3 answers', async () => {
    await client.send(new PutObjectCommand({Bucket: 'emu-bucket', Key: 'runs/r1/x.txt', Body: 'x'}))
    assert.equal(await (await client.send(new GetObjectCommand({Bucket: 'emu-bucket', Key: 'runs/r1/x.txt'}))).Body!.transformToString(), 'x')
    await client.send(new ListObjectsV2Command({Bucket: 'emu-bucket', Prefix: 'runs/r1/'}))
    const denied = (error: {name?: string; $metadata?: {httpStatusCode?: number}}) => error.name === 'AccessDenied' && error.$metadata?.httpStatusCode === 403
    await assert.rejects(client.send(new PutObjectCommand({Bucket: 'emu-bucket', Key: 'datasets/x', Body: 'x'})), denied)
    await assert.rejects(client.send(new ListObjectsV2Command({Bucket: 'emu-bucket'})), denied, 'ListBucket without a prefix fails the s3:prefix condition')
    await assert.rejects(client.send(new GetObjectCommand({Bucket: 'emu-bucket', Key: 'elsewhere/y'})), denied)
    assert.deepEqual(
      proxy.denied.map((r) => r.authorizations[0].action),
      ['s3:PutObject', 's3:ListBucket', 's3:GetObject'],
    )
  })
})
