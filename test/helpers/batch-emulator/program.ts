/**
 * The stack the emulator serves comes from rfm's own Pulumi program (infra/), run under
 * pulumi.runtime.setMocks: the job definitions, queues, compute environments and the job role's
 * policy are what `rfm infra up` would create, never hand-written. The mock plays the AWS provider:
 * it echoes inputs and assigns what AWS assigns (ARNs in each service's documented format, bucket
 * names, repository URLs, revision 1 for a new job definition).
 *
 * setMocks is process-wide: call `mockedStack` once per test process (node --test runs each file
 * in its own process).
 */
import type {JobDefinition} from '@aws-sdk/client-batch'
import * as pulumi from '@pulumi/pulumi'

import type {InfraConfigInput, InfraOutputs} from '../../../infra/config'
import type {StackLike} from '../../../src/infra/run'

export const ACCOUNT = '123456789012'

export interface MockedComputeEnvironment {
  name: string
  arn: string
  type: 'SPOT' | 'EC2'
  instanceTypes: string[]
  maxvCpus: number
  subnets: string[]
}

export interface MockedStack {
  region: string
  outputs: InfraOutputs
  /** Batch's view of each registered job definition (DescribeJobDefinitions shape) */
  jobDefinitions: JobDefinition[]
  /** queue ARN → the compute environments it orders */
  queues: Map<string, {name: string; arn: string; computeEnvironments: string[]}>
  computeEnvironments: MockedComputeEnvironment[]
  /** the job role's inline policy document, as the program rendered it */
  jobRolePolicy: {Version: string; Statement: unknown[]}
  jobRoleArn: string
  /** what the Automation API's Stack.up would answer, for runInfra's deps */
  stackLike(): StackLike
}

function value<T>(output: unknown): Promise<T> {
  return new Promise((resolve) => pulumi.output(output as pulumi.Input<T>).apply((v) => resolve(v as T)))
}

/** ARNs as each AWS service formats them (Batch, IAM, S3, ECR, CloudWatch Logs). */
function arnOf(type: string, name: string, region: string, inputs: Record<string, unknown>): string {
  switch (type) {
    case 'aws:batch/jobDefinition:JobDefinition':
      return `arn:aws:batch:${region}:${ACCOUNT}:job-definition/${name}:1`
    case 'aws:batch/jobQueue:JobQueue':
      return `arn:aws:batch:${region}:${ACCOUNT}:job-queue/${name}`
    case 'aws:batch/computeEnvironment:ComputeEnvironment':
      return `arn:aws:batch:${region}:${ACCOUNT}:compute-environment/${name}`
    case 'aws:iam/role:Role':
      return `arn:aws:iam::${ACCOUNT}:role/${name}`
    case 'aws:iam/instanceProfile:InstanceProfile':
      return `arn:aws:iam::${ACCOUNT}:instance-profile/${name}`
    case 'aws:ecr/repository:Repository':
      return `arn:aws:ecr:${region}:${ACCOUNT}:repository/${name}`
    case 'aws:cloudwatch/logGroup:LogGroup':
      return `arn:aws:logs:${region}:${ACCOUNT}:log-group:${String(inputs.name ?? name)}`
    default:
      return `arn:aws:mock:${region}:${ACCOUNT}:${type}/${name}`
  }
}

export async function mockedStack(config: InfraConfigInput & {region: string}, stackName = 'lab'): Promise<MockedStack> {
  const region = config.region
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const inputs = args.inputs as Record<string, unknown>
        const name = (inputs.name as string | undefined) ?? `${args.name}-a1b2c3`
        const state: Record<string, unknown> = {...inputs, name, arn: arnOf(args.type, name, region, inputs)}
        if (args.type === 'aws:s3/bucket:Bucket') {
          state.bucket = (inputs.bucket as string | undefined) ?? `${args.name}-a1b2c3`
          state.arn = `arn:aws:s3:::${state.bucket}`
        }
        if (args.type === 'aws:ecr/repository:Repository') state.repositoryUrl = `${ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${name}`
        if (args.type === 'aws:batch/jobDefinition:JobDefinition') state.revision = 1
        if (args.type === 'aws:ec2/launchTemplate:LaunchTemplate') state.latestVersion = 1
        return {id: args.type === 'aws:iam/role:Role' ? name : `${args.name}-id`, state}
      },
      call(args) {
        switch (args.token) {
          case 'aws:ec2/getVpc:getVpc':
            return {id: 'vpc-0default'}
          case 'aws:ec2/getSubnets:getSubnets':
            return {ids: ['subnet-0a', 'subnet-0b']}
          case 'aws:ec2/getRouteTables:getRouteTables':
            return {ids: ['rtb-main']}
          case 'aws:index/getCallerIdentity:getCallerIdentity':
            return {accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/alice`, userId: 'AIDAALICE', id: ACCOUNT}
          default:
            throw new Error(`mocked AWS provider: unexpected call ${args.token}`)
        }
      },
    },
    'rfm',
    stackName,
    false,
  )
  const program = await import('../../../infra/index.js')
  const built = program.buildInfrastructure(config)
  const outputs = (await value(pulumi.all(built.outputs as unknown as Record<string, pulumi.Output<unknown>>))) as unknown as InfraOutputs

  const jobDefinitions: JobDefinition[] = []
  for (const definition of built.resources.definitions.values()) {
    const d = definition as unknown as Record<string, unknown>
    const [arn, name, type, containerProperties, retryStrategy, timeout, platformCapabilities, propagateTags, nodeProperties] = await Promise.all(
      ['arn', 'name', 'type', 'containerProperties', 'retryStrategy', 'timeout', 'platformCapabilities', 'propagateTags', 'nodeProperties'].map((key) => value<unknown>(d[key])),
    )
    jobDefinitions.push({
      jobDefinitionArn: arn as string,
      jobDefinitionName: name as string,
      revision: 1,
      status: 'ACTIVE',
      type: type as string,
      ...(containerProperties ? {containerProperties: JSON.parse(containerProperties as string)} : {}),
      ...(nodeProperties ? {nodeProperties: JSON.parse(nodeProperties as string)} : {}),
      // The provider's evaluateOnExits (plural, Terraform) is the API's evaluateOnExit.
      ...(retryStrategy ? {retryStrategy: toApiRetryStrategy(retryStrategy as Record<string, unknown>)} : {}),
      ...(timeout ? {timeout: timeout as {attemptDurationSeconds: number}} : {}),
      platformCapabilities: platformCapabilities as string[],
      propagateTags: propagateTags as boolean,
    } as JobDefinition)
  }

  const fleet = built.resources.fleet as unknown as Record<string, unknown>
  const computeEnvironments: MockedComputeEnvironment[] = []
  const environments = [...((fleet.spot as Map<string, unknown>) ?? new Map()).values(), fleet.onDemand].filter(Boolean)
  for (const env of environments) {
    const e = env as Record<string, unknown>
    const [name, arn, resources] = await Promise.all([value<string>(e.name), value<string>(e.arn), value<Record<string, unknown>>(e.computeResources)])
    computeEnvironments.push({
      name,
      arn,
      type: resources.type as 'SPOT' | 'EC2',
      instanceTypes: resources.instanceTypes as string[],
      maxvCpus: resources.maxVcpus as number,
      subnets: resources.subnets as string[],
    })
  }
  const queues = new Map<string, {name: string; arn: string; computeEnvironments: string[]}>()
  for (const queue of [fleet.spotQueue, fleet.onDemandQueue, fleet.multiNodeQueue].filter(Boolean)) {
    const q = queue as Record<string, unknown>
    const [name, arn, orders] = await Promise.all([value<string>(q.name), value<string>(q.arn), value<Array<{order: number; computeEnvironment: string}>>(q.computeEnvironmentOrders)])
    queues.set(arn, {name, arn, computeEnvironments: [...(orders ?? [])].sort((a, b) => a.order - b.order).map((o) => o.computeEnvironment)})
  }
  const roles = built.resources.roles as unknown as Record<string, Record<string, unknown>>
  const jobRolePolicy = JSON.parse(await value<string>(roles.jobPolicy.policy))
  const jobRoleArn = await value<string>(roles.jobRole.arn)

  return {
    region,
    outputs,
    jobDefinitions,
    queues,
    computeEnvironments,
    jobRolePolicy,
    jobRoleArn,
    stackLike() {
      const map = Object.fromEntries(Object.entries(outputs).map(([key, v]) => [key, {value: v}]))
      return {
        async preview() {
          return {changeSummary: {create: 1}}
        },
        async up() {
          return {outputs: map, summary: {resourceChanges: {create: Object.keys(map).length}}}
        },
        async destroy() {
          return {summary: {resourceChanges: {delete: 1}}}
        },
        async outputs() {
          return map
        },
      }
    },
  }
}

function toApiRetryStrategy(strategy: Record<string, unknown>): {attempts?: number; evaluateOnExit?: unknown[]} {
  const rules = (strategy.evaluateOnExits ?? strategy.evaluateOnExit) as unknown[] | undefined
  return {attempts: strategy.attempts as number | undefined, ...(rules ? {evaluateOnExit: rules} : {})}
}
