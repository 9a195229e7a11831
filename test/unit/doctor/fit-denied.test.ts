/**
 * Launch's fit check needs batch:DescribeComputeEnvironments, which launch did not need before: a
 * launcher whose policy lacks it still launches (the check is skipped, saying why), rather than being
 * stopped by a check it cannot run. Batch itself is aws-sdk-client-mock here.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {BatchClient, DescribeComputeEnvironmentsCommand, DescribeJobDefinitionsCommand, DescribeJobQueuesCommand} from '@aws-sdk/client-batch'
import {mockClient} from 'aws-sdk-client-mock'

import type {Profile} from '../../../src/config/profiles'
import {runDoctor} from '../../../src/doctor/checks'
import {preflight} from '../../../src/doctor/preflight'

const QUEUE = 'arn:aws:batch:us-east-1:123456789012:job-queue/rfm-spot'
const DEFINITION = 'arn:aws:batch:us-east-1:123456789012:job-definition/rfm-command:1'
const profile = {backend: 'aws-batch', region: 'us-east-1', store: 's3://b/p', queues: {spot: QUEUE}, jobDefinitions: {command: DEFINITION}} as unknown as Profile

test('without batch:DescribeComputeEnvironments the fit check is skipped and the launch goes on', async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
  const batch = mockClient(BatchClient)
  try {
    batch.on(DescribeJobQueuesCommand).resolves({
      jobQueues: [{jobQueueName: 'rfm-spot', jobQueueArn: QUEUE, state: 'ENABLED', status: 'VALID', priority: 1, computeEnvironmentOrder: [{order: 1, computeEnvironment: 'arn:ce'}]}],
    })
    batch.on(DescribeJobDefinitionsCommand).resolves({jobDefinitions: [{jobDefinitionName: 'rfm-command', jobDefinitionArn: DEFINITION, revision: 1, type: 'container', status: 'ACTIVE'}]})
    batch.on(DescribeComputeEnvironmentsCommand).rejects(Object.assign(new Error('User is not authorized to perform: batch:DescribeComputeEnvironments'), {name: 'AccessDeniedException'}))
    const request = {queue: 'spot' as const, resources: {gpus: 64}}
    const findings = await runDoctor(profile, {kinds: ['command'], cheap: true, request})
    const fit = findings.find((f) => f.check === 'queue spot fits the job')!
    assert.equal(fit.status, 'skipped')
    assert.match(fit.message, /could not be read \(AccessDeniedException: User is not authorized/)
    await preflight(profile, 'command', request)
  } finally {
    batch.restore()
  }
})
