/**
 * The Pulumi program under pulumi.runtime.setMocks: every resource is "created" by the mock (its
 * state is its inputs plus ARNs), and each assertion awaits the output it reads.
 */
import assert from 'node:assert/strict'
import {before, describe, test} from 'node:test'
import * as pulumi from '@pulumi/pulumi'

type Program = typeof import('../../../infra')
type Built = ReturnType<Program['buildInfrastructure']>

const ACCOUNT = '123456789012'
const SECRET_ARN = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:wandb-AbC123`

/** Resolves an output; an assertion on the value then runs in the test, not in a lost callback. */
function value<T>(output: pulumi.Output<T> | pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(output).apply((v) => resolve(v as T)))
}

let program: Program
let main: Built
let noFallback: Built

before(async () => {
  // setMocks first, then load the program, so its resources register with the mock monitor.
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const inputs = args.inputs as Record<string, unknown>
        const name = (inputs.name as string | undefined) ?? args.name
        const state: Record<string, unknown> = {...inputs, name, arn: `arn:aws:mock:us-east-1:${ACCOUNT}:${args.type}/${name}`}
        if (args.type === 'aws:s3/bucket:Bucket') {
          state.bucket = (inputs.bucket as string | undefined) ?? `${args.name}-a1b2c3`
          state.arn = `arn:aws:s3:::${state.bucket}`
        }
        if (args.type === 'aws:ecr/repository:Repository') state.repositoryUrl = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/${name}`
        if (args.type === 'aws:ec2/launchTemplate:LaunchTemplate') state.latestVersion = 3
        return {id: `${args.name}-id`, state}
      },
      call(args) {
        switch (args.token) {
          case 'aws:ec2/getVpc:getVpc':
            return {id: 'vpc-0default'}
          case 'aws:ec2/getSubnets:getSubnets':
            return {ids: ['subnet-a', 'subnet-b']}
          case 'aws:ec2/getRouteTables:getRouteTables':
            return {ids: ['rtb-main']}
          case 'aws:index/getCallerIdentity:getCallerIdentity':
            return {accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/test`, userId: 'test', id: ACCOUNT}
          default:
            throw new Error(`unexpected call ${args.token}`)
        }
      },
    },
    'rfm',
    'test',
    false,
  )
  program = await import('../../../infra/index.js')
  main = program.buildInfrastructure({
    region: 'us-east-1',
    gpuFamilies: ['g6e', 'g5', 'p5'],
    maxVcpus: {g5: 128},
    defaultMaxVcpus: 512,
    stopTimeoutSeconds: 100,
    logRetentionDays: 90,
    untaggedImagesToKeep: 3,
    imagesToKeep: 7,
    secrets: [
      {name: 'WANDB_API_KEY', valueFrom: SECRET_ARN},
      {name: 'HF_TOKEN', valueFrom: '/rfm/hf-token'},
    ],
  })
  noFallback = program.buildInfrastructure({region: 'us-east-1', prefix: 'alt', gpuFamilies: ['g5'], onDemandFallback: false})
})

describe('compute environments and queues', () => {
  test('one SPOT environment per enabled family, price-capacity-optimized, with the configured max vCPUs', async () => {
    const {spot} = main.resources.fleet
    assert.deepEqual([...spot.keys()], ['g6e', 'g5', 'p5'])
    const expectedMax = {g6e: 512, g5: 128, p5: 512}
    for (const [family, env] of spot) {
      const resources = await value(env.computeResources)
      assert.equal(resources?.type, 'SPOT', family)
      assert.equal(resources?.allocationStrategy, 'SPOT_PRICE_CAPACITY_OPTIMIZED', family)
      assert.deepEqual(resources?.instanceTypes, [family])
      assert.equal(resources?.maxVcpus, expectedMax[family as keyof typeof expectedMax])
      assert.equal(resources?.minVcpus, 0)
      assert.deepEqual(resources?.subnets, ['subnet-a', 'subnet-b'])
      assert.equal(resources?.launchTemplate?.launchTemplateId, await value(main.resources.fleet.launchTemplate.id))
      assert.equal(resources?.ec2Configurations?.[0]?.imageType, 'ECS_AL2023_NVIDIA')
    }
    const onDemand = await value(main.resources.fleet.onDemand.computeResources)
    assert.equal(onDemand?.type, 'EC2')
    assert.deepEqual(onDemand?.instanceTypes, ['g6e', 'g5', 'p5'])
  })

  test('the spot queue tries the families in order, then on-demand; the on-demand queue uses on-demand only', async () => {
    const {fleet} = main.resources
    const arns = async (envs: Array<{arn: pulumi.Output<string>}>) => Promise.all(envs.map((env) => value(env.arn)))
    const ordered = async (queue: {computeEnvironmentOrders: pulumi.Output<Array<{order: number; computeEnvironment: string}> | undefined>}) =>
      ((await value(queue.computeEnvironmentOrders)) ?? []).sort((a, b) => a.order - b.order).map((o) => o.computeEnvironment)

    const spotArns = await arns([...fleet.spot.values()])
    const onDemandArn = await value(fleet.onDemand.arn)
    assert.deepEqual(await ordered(fleet.spotQueue), [...spotArns, onDemandArn])
    assert.deepEqual(await ordered(fleet.onDemandQueue), [onDemandArn])
  })

  test('without on-demand fallback the spot queue holds spot environments only', async () => {
    const {fleet} = noFallback.resources
    const orders = (await value(fleet.spotQueue.computeEnvironmentOrders)) ?? []
    assert.deepEqual(
      orders.map((o) => o.computeEnvironment),
      [await value(fleet.spot.get('g5')!.arn)],
    )
    assert.deepEqual(Object.keys(await value(noFallback.outputs.queues)), ['spot', 'onDemand'], 'no multi-node queue: multi-node jobs are not offered')
  })

  test('the launch template sizes the root volume and its user data turns on spot draining and the stop timeout', async () => {
    const template = main.resources.fleet.launchTemplate
    const encoded = await value(template.userData)
    const script = Buffer.from(encoded ?? '', 'base64').toString('utf8')
    assert.match(script, /^Content-Type: multipart\/mixed/m, 'Batch wants MIME multi-part user data')
    assert.match(script, /ECS_ENABLE_SPOT_INSTANCE_DRAINING=true' >> \/etc\/ecs\/ecs\.config/)
    assert.match(script, /ECS_CONTAINER_STOP_TIMEOUT=100s' >> \/etc\/ecs\/ecs\.config/)
    const disks = (await value(template.blockDeviceMappings)) ?? []
    assert.equal(disks[0]?.ebs?.volumeSize, 200)
    assert.equal((await value(template.metadataOptions))?.httpPutResponseHopLimit, 2)
  })
})

describe('bucket', () => {
  test('public access is blocked, encryption is on, and the policy denies any request without TLS', async () => {
    const {store} = main.resources
    const bucketId = await value(store.bucket.id)
    const block = store.publicAccess
    assert.equal(await value(block.bucket), bucketId)
    for (const flag of [block.blockPublicAcls, block.blockPublicPolicy, block.ignorePublicAcls, block.restrictPublicBuckets]) {
      assert.equal(await value(flag), true)
    }
    const rules = await value(store.encryption.rules)
    assert.equal(rules[0]?.applyServerSideEncryptionByDefault?.sseAlgorithm, 'AES256')

    const bucketArn = await value(store.bucket.arn)
    const policy = JSON.parse(await value(store.policy.policy)) as {Statement: Array<Record<string, any>>}
    const deny = policy.Statement.find((s) => s.Effect === 'Deny')
    assert.ok(deny, 'a Deny statement')
    assert.deepEqual(deny.Action, ['s3:*'])
    assert.equal(deny.Principal, '*')
    assert.deepEqual(deny.Resource, [bucketArn, `${bucketArn}/*`])
    assert.deepEqual(deny.Condition, {Bool: {'aws:SecureTransport': 'false'}})
  })

  test('lifecycle aborts incomplete uploads and expires no checkpoint (nothing tags intermediate ones)', async () => {
    const rules = await value(main.resources.store.lifecycle.rules)
    const abort = rules?.find((r) => r.abortIncompleteMultipartUpload)
    assert.equal(abort?.abortIncompleteMultipartUpload?.daysAfterInitiation, 7)
    assert.equal(
      rules?.some((r) => r.expiration),
      false,
    )
  })
})

describe('IAM', () => {
  test('the job role reads datasets/*, objects/* (staged contents) and runs/*, and writes only under runs/* of this bucket', async () => {
    const bucketArn = await value(main.resources.store.bucket.arn)
    const {jobRole, jobPolicy} = main.resources.roles
    assert.equal(await value(jobPolicy.role), await value(jobRole.id))
    const policy = JSON.parse(await value(jobPolicy.policy)) as {Statement: Array<{Effect: string; Action: string[]; Resource: string[]; Condition?: any}>}
    const allows = policy.Statement.filter((s) => s.Effect === 'Allow')
    const grants = (pattern: RegExp) => allows.filter((s) => s.Action.some((a) => pattern.test(a))).flatMap((s) => s.Resource)
    assert.deepEqual(grants(/^s3:(Put|Delete|Abort)/).sort(), [`${bucketArn}/runs/*`])
    assert.deepEqual(grants(/^s3:GetObject$/).sort(), [`${bucketArn}/datasets/*`, `${bucketArn}/objects/*`, `${bucketArn}/runs/*`])
    // Every key a job reads to pull a staged dataset is covered (layout from src/staging, not a copy).
    const {objectKey, manifestKey} = await import('../../../src/staging/layout.js')
    for (const key of [objectKey('ab'.repeat(32)), manifestKey('cd'.repeat(32))]) {
      assert.ok(
        grants(/^s3:GetObject$/).some((r) => (r.endsWith('*') ? `${bucketArn}/${key}`.startsWith(r.slice(0, -1)) : r === `${bucketArn}/${key}`)),
        key,
      )
    }
    const list = allows.find((s) => s.Action.includes('s3:ListBucket'))
    assert.deepEqual(list?.Resource, [bucketArn])
    assert.deepEqual(list?.Condition, {StringLike: {'s3:prefix': ['datasets/*', 'objects/*', 'runs/*']}})
    // Nothing else: no wildcard action or resource, and nothing outside the bucket.
    for (const statement of allows) {
      assert.ok(
        statement.Action.every((a) => a.startsWith('s3:') && !a.includes('*')),
        JSON.stringify(statement.Action),
      )
      assert.ok(
        statement.Resource.every((r) => r === bucketArn || r.startsWith(`${bucketArn}/`)),
        JSON.stringify(statement.Resource),
      )
    }
  })

  test('the execution role pulls from the stack repositories only and reads exactly the named secrets', async () => {
    const policy = JSON.parse(await value(main.resources.roles.executionPolicy.policy)) as {Statement: Array<{Sid: string; Action: string[]; Resource: string[]}>}
    const repoArns = await Promise.all([...main.resources.repos.values()].map((r) => value(r.arn)))
    const pull = policy.Statement.find((s) => s.Action.includes('ecr:BatchGetImage'))
    assert.deepEqual(pull?.Resource, repoArns)
    assert.deepEqual(policy.Statement.find((s) => s.Action.includes('secretsmanager:GetSecretValue'))?.Resource, [SECRET_ARN])
    assert.deepEqual(policy.Statement.find((s) => s.Action.includes('ssm:GetParameters'))?.Resource, [`arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/rfm/hf-token`])
  })
})

describe('job definitions, images and logs', () => {
  test('one job definition per kind with GPUs, logs to the group, retry defaults, and secrets only by reference', async () => {
    const {definitions, logs, repos, roles} = main.resources
    // every kind rfm registers (vlm included) plus default, so chooseJobDefinition finds one for each
    const {loadKinds} = await import('../../../src/jobs/registry.js')
    const registered = [...(await loadKinds([])).keys()]
    for (const kind of [...registered, 'default']) assert.ok(definitions.has(kind), kind)
    assert.deepEqual([...definitions.keys()], ['command', 'vlm', 'eval', 'sft', 'grpo', 'rm-eval', 'vla-sensor', 'default'])
    const logGroupName = await value(logs.name)
    for (const [kind, definition] of definitions) {
      const text = await value(definition.containerProperties)
      const props = JSON.parse(text ?? '{}') as Record<string, any>
      // a placeholder tag: rfm cloud launch registers a revision with the content-hash image (definitions.ts)
      assert.equal(props.image, `${await value(repos.get('images')!.repositoryUrl)}:${kind}-latest`)
      const env = Object.fromEntries((props.environment as Array<{name: string; value: string}>).map((e) => [e.name, e.value]))
      assert.equal(env.RFM_WORKDIR, '/home/rfm/work', "a staged workdir goes to the images' WORKDIR")
      assert.equal(env.RFM_JOB_KIND, undefined, 'no write-only variables')
      assert.deepEqual(
        props.resourceRequirements.find((r: {type: string}) => r.type === 'GPU'),
        {type: 'GPU', value: '1'},
      )
      assert.equal(props.jobRoleArn, await value(roles.jobRole.arn))
      assert.equal(props.logConfiguration.logDriver, 'awslogs')
      assert.equal(props.logConfiguration.options['awslogs-group'], logGroupName)
      assert.deepEqual(props.secrets, [
        {name: 'WANDB_API_KEY', valueFrom: SECRET_ARN},
        {name: 'HF_TOKEN', valueFrom: '/rfm/hf-token'},
      ])
      const envNames = (props.environment as Array<{name: string}>).map((e) => e.name)
      assert.ok(!envNames.some((n) => /KEY|TOKEN|SECRET|PASSWORD/.test(n)), `plain environment holds no secret: ${envNames}`)

      const retry = await value(definition.retryStrategy)
      assert.equal(retry?.attempts, 5)
      const rules = retry?.evaluateOnExits ?? []
      const index = (match: (r: (typeof rules)[number]) => boolean) => rules.findIndex(match)
      const hostRetry = index((r) => r.onStatusReason === 'Host EC2*' && r.action === 'RETRY')
      const exitRetry = index((r) => r.onExitCode === '75' && r.action === 'RETRY')
      const usageExit = index((r) => r.onExitCode === '2' && r.action === 'EXIT')
      const catchAll = index((r) => r.onReason === '*')
      assert.ok(hostRetry >= 0 && exitRetry >= 0 && usageExit >= 0, JSON.stringify(rules))
      assert.ok(catchAll > Math.max(hostRetry, exitRetry), 'retry rules come before the catch-all EXIT')
    }
    assert.equal(await value(logs.retentionInDays), 90)
  })

  test('one ECR repository for every image, scanned on push; the lifecycle keeps the newest N of each image and of untagged ones', async () => {
    assert.deepEqual([...main.resources.repos.keys()], ['images'])
    const repo = main.resources.repos.get('images')!
    assert.equal((await value(repo.imageScanningConfiguration))?.scanOnPush, true)
    assert.match(await value(repo.name), /^rfm-test\/images$/)
    const lifecycle = main.resources.lifecyclePolicies.get('images')!
    assert.equal(await value(lifecycle.repository), await value(repo.name))
    const rules = (JSON.parse(await value(lifecycle.policy)) as {rules: Array<Record<string, any>>}).rules
    const byPrefix = new Map(rules.filter((r) => r.selection.tagStatus === 'tagged').map((r) => [r.selection.tagPrefixList[0], r]))
    // the tag prefixes rfm build really pushes (src/containers/images.ts), checked against the image specs
    const {baseImage, externalImage, pluginImage} = await import('../../../src/containers/images.js')
    const {ROOT} = await import('../../helpers/cli.js')
    const tags = [(await baseImage(ROOT)).tag, (await externalImage({}, ROOT)).tag, (await pluginImage({name: '@rfm/plugin-sft', root: `${ROOT}/plugins/sft`}, ROOT)).tag]
    for (const tag of tags) {
      const rule = rules.find((r) => r.selection.tagStatus === 'tagged' && tag.startsWith(r.selection.tagPrefixList[0]))
      assert.ok(rule, `a rule expires old ${tag}`)
      assert.deepEqual({...rule.selection, tagPrefixList: undefined}, {tagStatus: 'tagged', tagPrefixList: undefined, countType: 'imageCountMoreThan', countNumber: 7})
    }
    assert.ok(byPrefix.has('external-sft-') && byPrefix.get('external-sft-')!.rulePriority < byPrefix.get('external-')!.rulePriority, 'the longer prefix is evaluated first')
    const untagged = rules.find((r) => r.selection.tagStatus === 'untagged')
    assert.deepEqual(untagged?.selection, {tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 3})
    assert.equal(untagged?.rulePriority, rules.length, 'untagged last')
    assert.deepEqual(
      rules.map((r) => r.rulePriority),
      rules.map((_, i) => i + 1),
    )
  })

  test('the stack outputs resolve to plain values that name the created resources', async () => {
    const out = main.outputs
    const queues = await value(out.queues)
    assert.deepEqual(queues, {
      spot: await value(main.resources.fleet.spotQueue.arn),
      onDemand: await value(main.resources.fleet.onDemandQueue.arn),
    })
    assert.equal(await value(out.bucket), await value(main.resources.store.bucket.bucket))
    const definitions = await value(out.jobDefinitions)
    assert.deepEqual(Object.keys(definitions), ['command', 'vlm', 'eval', 'sft', 'grpo', 'rm-eval', 'vla-sensor', 'default'])
    assert.equal(definitions.sft, await value(main.resources.definitions.get('sft')!.arn))
    assert.equal(await value(out.imageRepository), await value(main.resources.repos.get('images')!.repositoryUrl))
    assert.equal(await value(out.region), 'us-east-1')
    assert.equal(await value(out.jobRoleArn), await value(main.resources.roles.jobRole.arn))
  })
})
