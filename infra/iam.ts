import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'

import type {InfraConfig} from './config'
import {assumeRolePolicy, executionRolePolicy, jobRolePolicy, partitionOf, secretResourceArn} from './policies'

export interface IamInputs {
  bucketArn: pulumi.Output<string>
  repositoryArns: pulumi.Output<string>[]
  logGroupArn: pulumi.Output<string>
}

/**
 * Four roles, each with only what its holder does: Batch manages the fleet, the ECS agent on the
 * instance registers it, the execution role pulls images, writes logs and resolves secrets, and the
 * job role (what the trainer's code gets) reads datasets/ and runs/ and writes only runs/.
 */
export function iam(config: InfraConfig, input: IamInputs, opts: pulumi.CustomResourceOptions) {
  const {prefix} = config
  const partition = partitionOf(config.region)
  const role = (name: string, service: string) => new aws.iam.Role(`${prefix}-${name}`, {assumeRolePolicy: JSON.stringify(assumeRolePolicy(service))}, opts)

  const serviceRole = role('batch-service', 'batch.amazonaws.com')
  const serviceRoleAttachment = new aws.iam.RolePolicyAttachment(
    `${prefix}-batch-service`,
    {role: serviceRole.name, policyArn: `arn:${partition}:iam::aws:policy/service-role/AWSBatchServiceRole`},
    opts,
  )

  const instanceRole = role('instance', 'ec2.amazonaws.com')
  new aws.iam.RolePolicyAttachment(
    `${prefix}-instance`,
    // What the ECS agent needs to join the cluster Batch creates; nothing that touches the bucket.
    {role: instanceRole.name, policyArn: `arn:${partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role`},
    opts,
  )
  const instanceProfile = new aws.iam.InstanceProfile(`${prefix}-instance`, {role: instanceRole.name}, opts)

  const jobRole = role('job', 'ecs-tasks.amazonaws.com')
  const jobPolicy = new aws.iam.RolePolicy(`${prefix}-job`, {role: jobRole.id, policy: input.bucketArn.apply((arn) => JSON.stringify(jobRolePolicy(arn)))}, opts)

  const account = aws.getCallerIdentityOutput({}, {provider: opts.provider}).accountId
  const secretArns = account.apply((accountId) => config.secrets.map((ref) => secretResourceArn(ref, config.region, accountId)))
  const executionRole = role('execution', 'ecs-tasks.amazonaws.com')
  const executionPolicy = new aws.iam.RolePolicy(
    `${prefix}-execution`,
    {
      role: executionRole.id,
      policy: pulumi
        .all([pulumi.all(input.repositoryArns), input.logGroupArn, secretArns])
        .apply(([repositoryArns, logGroupArn, secrets]) => JSON.stringify(executionRolePolicy({repositoryArns, logGroupArn, secretArns: secrets}))),
    },
    opts,
  )

  return {serviceRole, serviceRoleAttachment, instanceRole, instanceProfile, jobRole, jobPolicy, executionRole, executionPolicy}
}
