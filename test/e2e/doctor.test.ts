/**
 * rfm doctor against the live-stack stand-ins: Batch from the emulator (the stack of rfm's Pulumi
 * program under mocks), iam:SimulatePrincipalPolicy answered by an independent IAM evaluator over
 * the job role policy the program produced, and aws-sdk-client-mock for STS, S3, EC2, ECR and
 * Service Quotas.
 */
import assert from 'node:assert/strict'
import {existsSync, readdirSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {DescribeInstanceTypeOfferingsCommand, DescribeSubnetsCommand, EC2Client} from '@aws-sdk/client-ec2'
import {DescribeImagesCommand, ECRClient} from '@aws-sdk/client-ecr'
import {IAMClient, SimulatePrincipalPolicyCommand} from '@aws-sdk/client-iam'
import {HeadBucketCommand, S3Client} from '@aws-sdk/client-s3'
import {ListServiceQuotasCommand, ServiceQuotasClient} from '@aws-sdk/client-service-quotas'
import {GetCallerIdentityCommand, STSClient} from '@aws-sdk/client-sts'
import {runSimulation} from '@cloud-copilot/iam-simulate'
import {mockClient} from 'aws-sdk-client-mock'

import {profileValuesFromOutputs} from '../../src/infra/profile-outputs'
import {runDoctor, type DoctorFinding} from '../../src/doctor/checks'
import {loadKinds} from '../../src/jobs/registry'
import type {Profile} from '../../src/config/profiles'
import {FakeBatch} from '../helpers/fake-batch'
import {ACCOUNT, mockedStack, type MockedStack} from '../helpers/batch-emulator/program'
import {rfmJson, tempHome} from '../helpers/cli'
import {assertSchema} from '../helpers/schema'

const TAG = 'base-0123456789abcdef'
let stack: MockedStack
let batch: FakeBatch
let profile: Profile
let kinds: string[]
const mocks: Array<{restore(): void}> = []
let policy: unknown
let quotaG = 512
let offered = true
let imagePushed = true

before(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
  stack = await mockedStack({region: 'us-east-1', gpuFamilies: ['g5', 'p5'], maxVcpus: {g5: 256, p5: 192}})
  batch = await new FakeBatch({runtime: '', jobDefinitions: stack.jobDefinitions, queues: [...stack.queues.keys()], stack}).start()
  profile = profileValuesFromOutputs(stack.outputs) as Profile
  kinds = [...(await loadKinds([])).keys()]
  policy = stack.jobRolePolicy
  mocks.push(
    mockClient(STSClient)
      .on(GetCallerIdentityCommand)
      .resolves({Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/alice`}),
  )
  mocks.push(mockClient(S3Client).on(HeadBucketCommand).resolves({}))
  const ec2 = mockClient(EC2Client)
  ec2.on(DescribeSubnetsCommand).callsFake((input: {SubnetIds: string[]}) => ({Subnets: input.SubnetIds.map((id, i) => ({SubnetId: id, AvailabilityZone: `us-east-1${'ab'[i % 2]}`}))}))
  ec2.on(DescribeInstanceTypeOfferingsCommand).callsFake((input: {Filters: Array<{Name: string; Values: string[]}>}) => {
    const pattern = input.Filters.find((f) => f.Name === 'instance-type')!.Values[0]
    return {InstanceTypeOfferings: offered || !pattern.startsWith('p5') ? [{InstanceType: pattern.replace('*', 'xlarge'), LocationType: 'availability-zone', Location: 'us-east-1a'}] : []}
  })
  mocks.push(ec2)
  mocks.push(
    mockClient(ECRClient)
      .on(DescribeImagesCommand)
      .callsFake((input: {imageIds: Array<{imageTag: string}>}) => {
        if (!imagePushed || input.imageIds[0].imageTag !== TAG) throw Object.assign(new Error('not found'), {name: 'ImageNotFoundException'})
        return {imageDetails: [{imageTags: [TAG]}]}
      }),
  )
  // iam:SimulatePrincipalPolicy, evaluated by iam-simulate over the job role's policy.
  mocks.push(
    mockClient(IAMClient)
      .on(SimulatePrincipalPolicyCommand)
      .callsFake(async (input: {PolicySourceArn: string; ActionNames: string[]; ResourceArns: string[]; ContextEntries?: Array<{ContextKeyName: string; ContextKeyValues: string[]}>}) => {
        assert.equal(input.PolicySourceArn, stack.jobRoleArn)
        const context = Object.fromEntries((input.ContextEntries ?? []).map((c) => [c.ContextKeyName, c.ContextKeyValues[0]]))
        const result = await runSimulation(
          {
            request: {principal: input.PolicySourceArn, action: input.ActionNames[0], resource: {resource: input.ResourceArns[0], accountId: ACCOUNT}, contextVariables: context},
            identityPolicies: [{name: 'job', policy}],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
          },
          {},
        )
        const decision = result.resultType === 'error' ? 'implicitDeny' : result.overallResult === 'Allowed' ? 'allowed' : result.overallResult === 'ExplicitlyDenied' ? 'explicitDeny' : 'implicitDeny'
        return {EvaluationResults: [{EvalActionName: input.ActionNames[0], EvalResourceName: input.ResourceArns[0], EvalDecision: decision}]}
      }),
  )
  mocks.push(
    mockClient(ServiceQuotasClient)
      .on(ListServiceQuotasCommand)
      .callsFake(() => ({
        Quotas: [
          {QuotaName: 'All G and VT Spot Instance Requests', Value: quotaG},
          {QuotaName: 'All P5 Spot Instance Requests', Value: 192},
          {QuotaName: 'Running On-Demand G and VT instances', Value: 64},
          {QuotaName: 'Running On-Demand P instances', Value: 64},
        ],
      })),
  )
})

after(async () => {
  for (const m of mocks) m.restore()
  await batch.stop()
})

const doctor = () => runDoctor(profile, {kinds, imageTag: async () => TAG})
const problems = (findings: DoctorFinding[]) => findings.filter((f) => f.status === 'problem').map((f) => `${f.check}: ${f.message}`)

describe('rfm doctor', () => {
  test('on the stack rfm infra up creates: every check ok, one line per check', async () => {
    const findings = await doctor()
    assert.deepEqual(problems(findings), [])
    const checks = findings.map((f) => f.check)
    for (const expected of [
      'credentials',
      'bucket',
      'queue spot',
      'queue onDemand',
      'image',
      ...kinds.map((k) => `job definition ${k}`),
      'quota All G and VT Spot Instance Requests',
      'quota All P5 Spot Instance Requests',
    ])
      assert.ok(checks.includes(expected), `${expected} in ${checks}`)
    assert.ok(checks.some((c) => c.startsWith('compute environment ')))
    assert.ok(findings.filter((f) => f.check.startsWith('job role:')).length >= 5)
    assertSchema('doctor', {profile: 'aws', ok: true, findings})
  })

  test('each problem is named with its fix: quota, zones, image, job role, queue state', async () => {
    quotaG = 128
    offered = false
    imagePushed = false
    policy = {
      Version: '2012-10-17',
      Statement: (stack.jobRolePolicy.Statement as Array<{Action: string[]; Resource: string[]}>).map((s) => ({...s, Resource: s.Resource.filter((r) => !r.includes('/objects/'))})),
    }
    // The on-demand queue disabled (by hand, outside Pulumi).
    const describe = batch.describeJobQueues.bind(batch)
    batch.describeJobQueues = (input) => ({jobQueues: describe(input).jobQueues.map((q, i) => (q.jobQueueArn === profile.queues!.onDemand ? {...q, state: 'DISABLED'} : q))})
    try {
      const byCheck = new Map((await runDoctor(profile, {kinds, imageTag: async () => TAG})).map((f) => [f.check, f]))
      const quota = byCheck.get('quota All G and VT Spot Instance Requests')!
      assert.equal(quota.status, 'problem')
      assert.match(quota.message, /128 vCPUs, below the 256 maxvCpus/)
      assert.match(quota.fix ?? '', /Service Quotas/)
      assert.ok([...byCheck.values()].some((f) => f.status === 'problem' && /p5 not offered in us-east-1a, us-east-1b/.test(f.message)))
      assert.equal(byCheck.get('image')?.status, 'problem')
      assert.match(byCheck.get('image')?.fix ?? '', /rfm build/)
      assert.equal(byCheck.get('job role: read staged file contents')?.status, 'problem')
      assert.equal(byCheck.get('job role: write a checkpoint')?.status, 'ok')
      assert.equal(byCheck.get('queue onDemand')?.status, 'problem')
      assert.match(byCheck.get('queue onDemand')?.message ?? '', /DISABLED/)
    } finally {
      batch.describeJobQueues = describe
      quotaG = 512
      offered = true
      imagePushed = true
      policy = stack.jobRolePolicy
    }
  })

  test('cheap: only the queue and job definition checks (what launch runs before submitting)', async () => {
    const findings = await runDoctor(profile, {kinds: ['command'], cheap: true})
    assert.deepEqual(
      findings.map((f) => f.check),
      ['queue spot', 'queue onDemand', 'job definition command'],
    )
  })

  test('cheap with the launch request: the queue must be able to place its vCPUs, GPUs and memory', async () => {
    const fits = async (queue: 'spot' | 'on-demand', resources: {cpus?: number; gpus?: number; memoryGiB?: number}) =>
      (await runDoctor(profile, {kinds: ['command'], cheap: true, request: {queue, resources}})).find((f) => f.check.endsWith('fits the job'))!
    // g5.48xlarge and p5.48xlarge have 8 GPUs and 192 vCPUs; g5 memory ends at 768 GiB, p5's at 2048
    assert.equal((await fits('spot', {gpus: 8, cpus: 192, memoryGiB: 1500})).status, 'ok')
    const sixteen = await fits('spot', {gpus: 16})
    assert.equal(sixteen.status, 'problem')
    assert.match(sixteen.message, /asks for \d+ vCPUs, 16 GPUs.*the largest, (g5|p5)\.48xlarge, has 192 vCPUs, 8 GPUs/)
    assert.match(sixteen.fix!, /multi-node jobs are not supported/)
    assert.equal((await fits('on-demand', {gpus: 1, cpus: 8})).status, 'ok')
  })

  /** `rfm cloud launch command` on the emulated stack with a profile (over the stack's) and a job file. */
  async function launchOnStack(profileOverrides: object, job: string) {
    const url = await batch.serveHttp()
    const home = tempHome()
    const aws = {...profileValuesFromOutputs(stack.outputs), store: `file://${home}/store`, ...profileOverrides}
    writeFileSync(path.join(home, 'config.json'), JSON.stringify({active: 'aws', profiles: {aws}}))
    writeFileSync(path.join(home, 'job.yaml'), job)
    const env = {AWS_ENDPOINT_URL_BATCH: url, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true'}
    const before = batch.calls.SubmitJob.length
    const result = await rfmJson(['cloud', 'launch', 'command', '-c', path.join(home, 'job.yaml')], {home, env})
    return {...result, submitted: batch.calls.SubmitJob.length - before}
  }

  test('rfm cloud launch refuses a job its queue can never place, before staging or submitting', async () => {
    const {code, json, submitted} = await launchOnStack({}, 'command: [node, -e, "0"]\nresources: {gpus: 16}\n')
    assert.equal(code, 2, JSON.stringify(json))
    assertSchema('error', json)
    assert.match(json.error.message, /queue spot fits the job: the job asks for .*16 GPUs/)
    assert.equal(submitted, 0, 'nothing submitted')
  })

  test("rfm cloud launch checks the queues and the kind's job definition before submitting", async () => {
    const gone = stack.outputs.jobDefinitions.command.replace(/:\d+$/, ':99')
    const {code, json, submitted} = await launchOnStack({jobDefinitions: {command: gone}}, 'command: [node, -e, "0"]\n')
    assert.equal(code, 2, JSON.stringify(json))
    assertSchema('error', json)
    assert.match(json.error.message, /not ready for this launch: job definition command: .*:99 is missing/)
    assert.match(json.error.hint, /rfm infra up.*rfm doctor/)
    assert.equal(submitted, 0, 'nothing submitted')
  })

  test('the CLI on a local profile: store, trainer backend, products, cores, python; a store that cannot be written is a problem (exit 1)', async () => {
    const home = tempHome()
    const {code, json} = await rfmJson(['doctor'], {home})
    assert.equal(code, 0, JSON.stringify(json))
    assertSchema('doctor', json)
    const byCheck = new Map((json.findings as DoctorFinding[]).map((f) => [f.check, f]))
    assert.deepEqual([...byCheck.keys()].slice(0, 2), ['store', 'trainer backend'])
    assert.match(byCheck.get('store')!.message, /^file:\/\/.*writable/)
    assert.match(byCheck.get('trainer backend')!.message, /^wasm \(@tensorflow\/tfjs-backend-wasm/)
    assert.match(byCheck.get('matrix products')!.message, /OpenBLAS|tfjs-wasm's own kernels/)
    assert.match(byCheck.get('cores')!.message, /^\d+ available/)
    assert.ok(byCheck.has('python for external trainers'))
    const probes = path.join(home, 'store', 'doctor')
    assert.deepEqual(existsSync(probes) ? readdirSync(probes) : [], [], 'the probe object is removed')

    // a store below a regular file cannot be created
    writeFileSync(path.join(home, 'blocker'), '')
    const set = await rfmJson(['config', 'set', 'store', `file://${home}/blocker/store`], {home})
    assert.equal(set.code, 0, JSON.stringify(set.json))
    const broken = await rfmJson(['doctor'], {home})
    assert.equal(broken.code, 1)
    const store = (broken.json.findings as DoctorFinding[]).find((f) => f.check === 'store')!
    assert.equal(store.status, 'problem')
    assert.match(store.message, /blocker\/store is not usable/)
    assert.match(store.fix!, /rfm config set store/)
  })
})
