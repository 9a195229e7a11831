import assert from 'node:assert/strict'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {describe, test} from 'node:test'

import {BatchClient} from '@aws-sdk/client-batch'
import {mockClient} from 'aws-sdk-client-mock'

import {BatchBackend} from '../../src/backends/aws-batch'
import {fromAwsError} from '../../src/backends/aws-batch/errors'
import {RfmError} from '../../src/errors'
import type {RunRecord} from '../../src/runs/record'
import {rfmJson, tempHome} from '../helpers/cli'
import {fakeBatchSuite, FakeBatch, IMAGE, JOB_DEFINITION, QUEUES, RUNTIME, startFakeBatch} from '../helpers/fake-batch'
import {assertSchema} from '../helpers/schema'

const node = JSON.stringify(process.execPath)

describe('aws-batch backend against a stateful fake Batch', () => {
  const suite = fakeBatchSuite()

  test('submit sends the exact SubmitJob request and records the job in run.json', async () => {
    const file = suite.world.config([
      `command: [${node}, -e, "process.exit(0)"]`,
      'retries: {attempts: 4, evaluate_on_exit: [{on_exit_code: "1", action: exit}, {on_signal: SIGSEGV, action: retry}]}',
      'timeout: 2h',
      'name: sweep-a',
    ])
    const run = await suite.world.launch(file, {batch: {resources: {gpus: 2, cpus: 8, memoryGiB: 30.5}}})
    const request = suite.fake.calls.SubmitJob.at(-1)
    assert.deepEqual(request, {
      jobName: `${run.id}-sweep-a`,
      jobQueue: QUEUES.spot,
      jobDefinition: JOB_DEFINITION,
      containerOverrides: {
        environment: [
          {name: 'RFM_STORE', value: suite.world.profile.store},
          {name: 'RFM_RUN_ID', value: run.id},
          {name: 'RFM_SPOT_ENDPOINT', value: 'http://169.254.169.254'},
          {name: 'AWS_REGION', value: 'us-east-1'},
        ],
        resourceRequirements: [
          {type: 'VCPU', value: '8'},
          {type: 'MEMORY', value: String(Math.ceil(30.5 * 1024))},
          {type: 'GPU', value: '2'},
        ],
      },
      retryStrategy: {
        attempts: 4,
        evaluateOnExit: [
          {onStatusReason: 'Host EC2*', action: 'RETRY'},
          {onExitCode: '75', action: 'RETRY'},
          {onExitCode: '2', action: 'EXIT'},
          {onExitCode: '1', action: 'EXIT'},
          {onExitCode: '139', action: 'RETRY'},
        ],
      },
      timeout: {attemptDurationSeconds: 7200},
      tags: {'rfm:run-id': run.id, 'rfm:kind': 'command', 'rfm:user': (request as {tags: Record<string, string>}).tags['rfm:user']},
      propagateTags: true,
    })
    const recorded = await suite.world.runs.get(run.id)
    assert.equal(recorded.backend.jobQueue, QUEUES.spot)
    assert.equal(recorded.backend.jobDefinition, JOB_DEFINITION)
    assert.ok(suite.fake.jobs.has(recorded.backend.jobId as string))
    const final = await suite.world.finish(recorded)
    assertSchema('run', final)
    assert.equal(final.state, 'succeeded')
    assert.equal(final.attempts.length, 1)
    assert.equal(final.attempts[0].exitCode, 0)
  })

  test("an image that differs from the job definition's: a revision with it is registered once, then reused", async () => {
    const image = IMAGE.replace('0123abcd', 'feedbeef')
    const backend = new BatchBackend({profile: suite.world.profile, resolveImage: async () => image, pollMs: 25})
    const before = suite.fake.calls.RegisterJobDefinition.length
    const file = suite.world.config([`command: [${node}, -e, "0"]`])
    const first = await suite.world.launch(file, {}, backend)
    const registered = suite.fake.calls.RegisterJobDefinition.slice(before) as Array<Record<string, any>>
    assert.equal(registered.length, 1)
    assert.equal(registered[0].jobDefinitionName, 'rfm-command')
    assert.equal(registered[0].containerProperties.image, image)
    assert.deepEqual(registered[0].retryStrategy, {attempts: 5}, 'the rest of the definition is kept')
    const revision = (await suite.world.runs.get(first.id)).backend.jobDefinition as string
    assert.match(revision, /job-definition\/rfm-command:4$/)
    assert.equal((suite.fake.calls.SubmitJob.at(-1) as {jobDefinition: string}).jobDefinition, revision)
    const second = await suite.world.launch(file, {}, backend)
    assert.equal(suite.fake.calls.RegisterJobDefinition.length, before + 1, 'no second registration')
    assert.equal((await suite.world.runs.get(second.id)).backend.jobDefinition, revision)
    await suite.world.finish(first)
    await suite.world.finish(second)
  })

  test('a usage error (exit 2) ends the job without a retry; a crash with no rule is retried until attempts run out', async () => {
    const usage = await suite.world.finish(await suite.world.launch(suite.world.config([`command: [${node}, -e, "process.exit(2)"]`, 'retries: {attempts: 3}'])))
    assert.equal(usage.state, 'failed')
    assert.deepEqual(
      usage.attempts.map((a) => [a.exitCode, a.action]),
      [[2, 'exit']],
    )

    const crash = await suite.world.finish(await suite.world.launch(suite.world.config([`command: [${node}, -e, "process.exit(1)"]`, 'retries: {attempts: 3}'])))
    assert.equal(crash.state, 'failed')
    assert.deepEqual(
      crash.attempts.map((a) => [a.exitCode, a.action]),
      [
        [1, 'retry'],
        [1, 'retry'],
        [1, 'exit'],
      ],
    )
  })

  test('--array N: one array job; each child gets its index, writes under the same run, and has its own attempts', async () => {
    const out = path.join(suite.world.dir, 'array-out')
    const script = `require('fs').mkdirSync(${JSON.stringify(out)}, {recursive: true}); require('fs').writeFileSync(${JSON.stringify(out)} + '/child-' + process.env.RFM_ARRAY_INDEX, process.env.RFM_RUN_ID)`
    const run = await suite.world.launch(suite.world.config([`command: [${node}, -e, ${JSON.stringify(script)}]`]), {batch: {arraySize: 3}})
    assert.deepEqual((suite.fake.calls.SubmitJob.at(-1) as {arrayProperties?: unknown}).arrayProperties, {size: 3})
    const final = await suite.world.finish(run)
    assertSchema('run', final)
    assert.equal(final.state, 'succeeded')
    assert.deepEqual(final.backend.arrayStatus, {SUCCEEDED: 3})
    assert.deepEqual(final.attempts.map((a) => (a as {arrayIndex?: number}).arrayIndex).sort(), [0, 1, 2])
    for (const i of [0, 1, 2]) assert.equal(readFileSync(path.join(out, `child-${i}`), 'utf8'), run.id)
  })

  test('a job stuck RUNNABLE: status warns what to check; cancel uses CancelJob and the run ends cancelled', async () => {
    const held = new FakeBatch({runtime: RUNTIME, hold: true})
    // A second fake replaces the first's handlers while it runs.
    await suite.fake.stop()
    await held.start()
    try {
      const backend = new BatchBackend({profile: suite.world.profile, resolveImage: async () => IMAGE, pollMs: 25, runnableWarnMinutes: 0})
      const run = await suite.world.launch(suite.world.config([`command: [${node}, -e, "0"]`]))
      const jobId = (await suite.world.runs.get(run.id)).backend.jobId as string
      while (held.job(jobId).status !== 'RUNNABLE') await new Promise((r) => setTimeout(r, 10))
      const refreshed = await backend.refresh(await suite.world.runs.get(run.id), suite.world.runs)
      assert.equal(refreshed.state, 'queued')
      const live = await backend.observe(refreshed)
      assert.equal(live.status, 'RUNNABLE')
      assert.match(live.warnings?.[0] ?? '', /RUNNABLE.*vCPU quota.*maxvCpus.*availability zones/s)
      assertSchema('cloud-status', {run: refreshed, live})
      // The queues list it too, with the run it belongs to.
      const queued = (await backend.queueJobs()).filter((j) => j.jobId === jobId)
      assert.deepEqual(
        queued.map((j) => [j.queue, j.status, j.runId]),
        [[QUEUES.spot, 'RUNNABLE', run.id]],
      )
      assertSchema('cloud-ls', {runs: [], queueJobs: queued})
      const cancelled = await backend.cancel(refreshed, suite.world.runs, {graceSeconds: 1})
      assert.equal(cancelled.state, 'cancelled')
      assert.equal(held.calls.CancelJob.length, 1)
      assert.equal(held.calls.TerminateJob.length, 0)
    } finally {
      await held.stop()
      suite.fake = await startFakeBatch()
    }
  })

  test("a job its queue can never place: status reports Batch's blocked reason at once, with the fix", async () => {
    // The suite's spot queue ordering one environment of at most 16 vCPUs; the job asks for 32.
    const stack = {
      queues: new Map([[QUEUES.spot, {name: 'rfm-spot', arn: QUEUES.spot, computeEnvironments: ['rfm-g5-spot']}]]),
      computeEnvironments: [
        {name: 'rfm-g5-spot', arn: 'arn:aws:batch:us-east-1:123456789012:compute-environment/rfm-g5-spot', type: 'SPOT' as const, instanceTypes: ['g5'], maxvCpus: 16, subnets: []},
      ],
    }
    const small = new FakeBatch({runtime: RUNTIME, stack})
    await suite.fake.stop()
    await small.start()
    try {
      const backend = new BatchBackend({profile: suite.world.profile, resolveImage: async () => IMAGE, pollMs: 25})
      const run = await suite.world.launch(suite.world.config([`command: [${node}, -e, "0"]`]), {batch: {resources: {cpus: 32}}})
      const jobId = (await suite.world.runs.get(run.id)).backend.jobId as string
      while (!small.job(jobId).statusReason) await new Promise((r) => setTimeout(r, 10))
      const refreshed = await backend.refresh(await suite.world.runs.get(run.id), suite.world.runs)
      assert.equal(refreshed.state, 'queued')
      // not after the 15 minutes a capacity wait gets: the reason never clears by waiting
      const live = await backend.observe(refreshed)
      assert.equal(live.status, 'RUNNABLE')
      assert.equal(live.warnings?.length, 1)
      assert.match(live.warnings![0], /^AWS Batch cannot place the job: MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - .*at most 16 vCPUs.*32.*rfm infra up --max-vcpus/)
      assert.equal((await backend.cancel(refreshed, suite.world.runs, {graceSeconds: 1})).state, 'cancelled')
    } finally {
      await small.stop()
      suite.fake = await startFakeBatch()
    }
  })

  test('an image that cannot be pulled: the attempt never ran (no startedAt from Batch), the run fails saying what to do', async () => {
    const image = {uid: 0, gid: 0, workdir: '/nonexistent', env: {}, entrypoint: []}
    const unpushed = new FakeBatch({runtime: RUNTIME, container: {image, credentials: {accessKeyId: 'k', secretAccessKey: 's'}, registry: {has: () => false}}})
    await suite.fake.stop()
    await unpushed.start()
    try {
      const backend = new BatchBackend({profile: suite.world.profile, resolveImage: async () => IMAGE, pollMs: 25})
      const run = await suite.world.launch(suite.world.config([`command: [${node}, -e, "0"]`, 'retries: {attempts: 1}']))
      const jobId = (await suite.world.runs.get(run.id)).backend.jobId as string
      while (unpushed.job(jobId).status !== 'FAILED') await new Promise((r) => setTimeout(r, 10))
      const [attempt] = unpushed.describeJobs({jobs: [jobId]}).jobs[0].attempts!
      assert.equal(attempt.startedAt, undefined, 'Batch dates an attempt only when it reaches RUNNING')
      const final = await backend.refresh(await suite.world.runs.get(run.id), suite.world.runs)
      assert.equal(final.state, 'failed')
      assert.match(final.reason ?? '', /^CannotPullContainerError: .*rfm build command pushes it/)
      assert.equal(final.attempts.length, 1)
      assert.equal(final.attempts[0].exitCode, null)
      assertSchema('run', final)
    } finally {
      await unpushed.stop()
      suite.fake = await startFakeBatch()
    }
  })

  test('cancel of a running job terminates it: the trainer gets SIGTERM, checkpoints, and no retry follows', async () => {
    const trainer = path.join(suite.world.dir, 'sleeper.js')
    const marker = path.join(suite.world.dir, 'got-sigterm')
    writeFileSync(trainer, `process.on('SIGTERM', () => { require('fs').writeFileSync(${JSON.stringify(marker)}, 'yes'); process.exit(143) }); console.log('ready'); setInterval(() => {}, 1000)`)
    const run = await suite.world.launch(suite.world.config([`command: [${node}, ${JSON.stringify(trainer)}]`, 'retries: {attempts: 3}']))
    const jobId = (await suite.world.runs.get(run.id)).backend.jobId as string
    while (!suite.fake.streams.get(suite.fake.job(jobId).current?.logStream ?? '')?.some((e) => e.message.includes('ready'))) await new Promise((r) => setTimeout(r, 10))
    const cancelled = await suite.world.backend.cancel(await suite.world.runs.get(run.id), suite.world.runs, {graceSeconds: 3})
    assert.equal(cancelled.state, 'cancelled')
    assert.equal(suite.fake.calls.TerminateJob.length, 1)
    assert.equal(cancelled.attempts.length, 1)
    assert.ok(existsSync(marker), 'the trainer saw SIGTERM')
    assert.match(cancelled.reason ?? '', /cancelled/)
  })

  test('multi-node parallel jobs are not offered: the request has no node overrides and the profile no multi-node definitions', async () => {
    const file = suite.world.config([`command: [${node}, -e, "0"]`])
    const run = await suite.world.launch(file, {batch: {queue: 'on-demand'}})
    const request = suite.fake.calls.SubmitJob.at(-1) as Record<string, any>
    assert.equal(request.jobQueue, QUEUES.onDemand)
    assert.equal(request.nodeOverrides, undefined)
    await suite.world.finish(run)
  })

  test('credentials, a missing queue: typed errors that say what to do', async () => {
    const expired = fromAwsError(Object.assign(new Error('The security token included in the request is expired'), {name: 'ExpiredTokenException'}), 'submitting the job')
    assert.equal(expired.code, 'AWS_CREDENTIALS')
    assert.match(expired.hint ?? '', /aws sso login/)
    const missing = fromAwsError(Object.assign(new Error('Could not load credentials from any providers'), {name: 'CredentialsProviderError'}), 'x')
    assert.equal(missing.code, 'AWS_CREDENTIALS')
    assert.match(missing.hint ?? '', /aws configure/)
    assert.equal(fromAwsError(Object.assign(new Error('nope'), {name: 'UnrecognizedClientException'}), 'x').code, 'AWS_CREDENTIALS')

    // Through the backend: the fake answers as Batch does for a queue that does not exist.
    const backend = new BatchBackend({profile: {...suite.world.profile, queues: {...QUEUES, spot: 'arn:aws:batch:us-east-1:123456789012:job-queue/gone'}}, resolveImage: async () => IMAGE})
    const run = {...(await suite.world.runs.list())[0], id: 'command-20261122-000000-abcd', backend: {name: 'aws-batch'}} as RunRecord
    await assert.rejects(backend.submit(run, suite.world.runs), (error: RfmError) => error.code === 'AWS_QUEUE_MISSING' && /rfm infra up/.test(error.hint ?? ''))

    // And when the SDK itself rejects (what an expired session looks like to send()).
    await suite.fake.stop()
    const mock = mockClient(BatchClient)
    mock.onAnyCommand().rejects(Object.assign(new Error('The security token included in the request is expired'), {name: 'ExpiredTokenException'}))
    try {
      await assert.rejects(
        suite.world.backend.submit({...run, backend: {name: 'aws-batch', request: {queue: 'spot'}}}, suite.world.runs),
        (error: RfmError) => error.code === 'AWS_CREDENTIALS' && error.exitCode === 1,
      )
    } finally {
      mock.restore()
      suite.fake = await startFakeBatch({})
    }
  })
})

describe('aws-batch through the CLI', () => {
  test('--nodes is gone (multi-node jobs are not supported): exit 2, nothing recorded', async () => {
    const home = tempHome()
    writeFileSync(
      path.join(home, 'config.json'),
      JSON.stringify({active: 'b', profiles: {b: {backend: 'aws-batch', store: `file://${home}/store`, region: 'us-east-1', queues: QUEUES, jobDefinitions: {command: JOB_DEFINITION}}}}),
    )
    const file = path.join(home, 'job.yaml')
    writeFileSync(file, `command: [${node}, -e, "0"]\n`)
    const {code, json} = await rfmJson(['cloud', 'launch', 'command', '-c', file, '--nodes', '2'], {home})
    assert.equal(code, 2)
    assertSchema('error', json)
    assert.match(json.error.message, /Nonexistent flag: --nodes/)
    const ls = await rfmJson(['cloud', 'ls'], {home})
    assert.deepEqual(ls.json.runs, [], 'nothing was recorded')
  })

  test('--array on the local backend is refused', async () => {
    const home = tempHome()
    const file = path.join(home, 'job.yaml')
    writeFileSync(file, `command: [${node}, -e, "0"]\n`)
    const {code, json} = await rfmJson(['cloud', 'launch', 'command', '-c', file, '--array', '3'], {home})
    assert.equal(code, 2)
    assert.match(json.error.message, /aws-batch backend only/)
  })
})
