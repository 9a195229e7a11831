/**
 * BatchBackend checks what it reads instead of casting it: a run record whose backend.jobId or
 * backend.status is not a string, and a SubmitJob answer without the jobId the API reference marks
 * "Required: Yes", each give one clear error rather than a call with a wrong id.
 */
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'

import {BatchClient, SubmitJobCommand} from '@aws-sdk/client-batch'
import {mockClient} from 'aws-sdk-client-mock'

import {BatchBackend} from '../../../src/backends/aws-batch'
import {BackendError} from '../../../src/errors'
import type {RunRecord} from '../../../src/runs/record'
import {batchWorld, type BatchWorld} from '../../helpers/fake-batch'

let world: BatchWorld
let batch: ReturnType<typeof mockClient>
before(async () => {
  world = await batchWorld()
  batch = mockClient(BatchClient)
})
after(() => batch.restore())

const damaged = (backend: Record<string, unknown>) =>
  ({id: 'command-20990101-000000-0000beef', kind: 'command', state: 'running', createdAt: '2099-01-01T00:00:00Z', backend: {name: 'aws-batch', ...backend}, attempts: []}) as unknown as RunRecord

test('a record whose jobId is not a string: a BackendError naming the field, before any call to Batch', async () => {
  const calls = batch.calls().length
  await assert.rejects(world.backend.refresh(damaged({jobId: 42}), world.runs), (error: Error) => {
    assert.ok(error instanceof BackendError)
    assert.match(error.message, /backend\.jobId 42, not an AWS Batch job id/)
    assert.match((error as BackendError).hint ?? '', /run\.json/)
    return true
  })
  await assert.rejects(world.backend.observe(damaged({jobId: ''})), /backend\.jobId "", not an AWS Batch job id/)
  assert.equal(batch.calls().length, calls)
})

test('cancel with a recorded status that is not a string: a BackendError naming the field', async () => {
  const record = damaged({jobId: 'job-1', status: {s: 'RUNNING'}})
  // cancel refreshes from Batch first; kept as recorded here, the status check is what fails.
  const backend = world.backend as unknown as {refresh: (run: RunRecord) => Promise<RunRecord>}
  const original = backend.refresh
  backend.refresh = async (run) => run
  try {
    await assert.rejects(world.backend.cancel(record, {appendEvent: async () => undefined} as never, {graceSeconds: 1}), /backend\.status \{"s":"RUNNING"\}, not an AWS Batch job status/)
  } finally {
    backend.refresh = original
  }
})

test('SubmitJob answered without a jobId: the launch fails with a hint to find the job, and the run is closed', async () => {
  batch.on(SubmitJobCommand).resolves({jobName: 'x', jobArn: 'arn:aws:batch:us-east-1:123456789012:job/x'} as never)
  const file = world.config([`command: [${JSON.stringify(process.execPath)}, -e, "0"]`])
  // No image to resolve: the job definition's own, so SubmitJob is the only call.
  const backend = new BatchBackend({profile: world.profile, resolveImage: async () => undefined})
  await assert.rejects(world.launch(file, {}, backend), (error: Error) => {
    assert.ok(error instanceof BackendError)
    assert.match(error.message, /returned no job id/)
    assert.match((error as BackendError).hint ?? '', /aws batch list-jobs/)
    return true
  })
  const [run] = await world.runs.list()
  assert.equal(run.state, 'failed')
  assert.match(run.reason ?? '', /not submitted: .*returned no job id/)
})
