/**
 * The rfm infrastructure as one Pulumi program: a bucket, image repositories, networking, IAM, a log
 * group, spot and on-demand Batch compute environments, job queues and job definitions. The same
 * function runs as the Automation API's inline program (`rfm infra up`) and under
 * `pulumi.runtime.setMocks` in tests. Loading this module loads @pulumi/aws (~1 s): import it lazily.
 */
import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'

import {infraConfigSchema, type InfraConfig, type InfraConfigInput, type InfraOutputs} from './config'
import {compute} from './compute'
import {iam} from './iam'
import {IMAGES, jobDefinitions, logGroup, repositories} from './jobs'
import {network} from './network'
import {storage} from './storage'

/** Lower-case stack name usable in ECR repository and job definition names. */
export function stackSlug(stack: string): string {
  return (
    stack
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'stack'
  )
}

/** Builds every resource; returns them (for tests) and the stack outputs. */
export function buildInfrastructure(input: InfraConfigInput | InfraConfig) {
  const config = infraConfigSchema.parse(input)
  const stack = stackSlug(pulumi.getStack())
  const provider = new aws.Provider(`${config.prefix}-aws`, {
    region: config.region as aws.Region,
    defaultTags: {tags: {'rfm:stack': stack, 'rfm:managed-by': 'rfm infra'}},
  })
  const opts: pulumi.CustomResourceOptions = {provider}

  const store = storage(config, opts)
  const {repos, lifecyclePolicies} = repositories(config, stack, opts)
  const logs = logGroup(config, stack, opts)
  const net = network(config, opts)
  const roles = iam(config, {bucketArn: store.bucket.arn, repositoryArns: [...repos.values()].map((r) => r.arn), logGroupArn: logs.arn}, opts)
  const fleet = compute(
    config,
    {
      subnetIds: net.subnetIds,
      securityGroupId: net.securityGroup.id,
      serviceRoleArn: roles.serviceRole.arn,
      instanceProfileArn: roles.instanceProfile.arn,
      dependsOn: [roles.serviceRoleAttachment],
    },
    opts,
  )
  const definitions = jobDefinitions(
    config,
    stack,
    {repositories: repos, jobRoleArn: roles.jobRole.arn, executionRoleArn: roles.executionRole.arn, logGroupName: logs.name, bucket: store.bucket.bucket},
    opts,
  )

  let budget: aws.budgets.Budget | undefined
  if (config.budget) {
    const emails = config.budget.emails
    budget = new aws.budgets.Budget(
      `${config.prefix}-monthly`,
      {
        budgetType: 'COST',
        limitAmount: config.budget.monthlyUsd.toFixed(2),
        limitUnit: 'USD',
        timeUnit: 'MONTHLY',
        notifications: [
          {comparisonOperator: 'GREATER_THAN', notificationType: 'FORECASTED', threshold: 80, thresholdType: 'PERCENTAGE', subscriberEmailAddresses: emails},
          {comparisonOperator: 'GREATER_THAN', notificationType: 'ACTUAL', threshold: 100, thresholdType: 'PERCENTAGE', subscriberEmailAddresses: emails},
        ],
      },
      opts,
    )
  }

  const record = <T>(entries: Map<string, {arn?: pulumi.Output<string>} & T>, pick: (value: T) => pulumi.Output<string>) =>
    pulumi.all(Object.fromEntries([...entries].map(([key, value]) => [key, pick(value)])))

  const outputs: {[K in keyof InfraOutputs]-?: pulumi.Output<InfraOutputs[K]>} = {
    region: pulumi.output(config.region),
    bucket: store.bucket.bucket,
    queues: pulumi.all([fleet.spotQueue.arn, fleet.onDemandQueue.arn]).apply(([spot, onDemand]) => ({spot, onDemand})),
    jobDefinitions: record(definitions, (d: aws.batch.JobDefinition) => d.arn),
    imageRepository: repos.get(IMAGES)!.repositoryUrl,
    repositories: record(repos, (r: aws.ecr.Repository) => r.repositoryUrl),
    logGroup: logs.name,
    jobRoleArn: roles.jobRole.arn,
  }
  return {config, stack, resources: {provider, store, repos, lifecyclePolicies, logs, net, roles, fleet, definitions, budget}, outputs}
}

/** The inline program: builds the stack and exports its outputs (plain values once resolved). */
export async function rfmInfrastructure(config: InfraConfigInput | InfraConfig) {
  return buildInfrastructure(config).outputs
}
