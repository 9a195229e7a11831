import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'

import {imagesOf, type InfraConfig} from './config'
import {containerProperties, retryStrategy} from './containers'
import {ecrLifecyclePolicy} from './policies'

/** ECR repositories (one per image), scanned on push, with old untagged images expired. */
export function repositories(config: InfraConfig, stack: string, opts: pulumi.CustomResourceOptions) {
  const repos = new Map<string, aws.ecr.Repository>()
  const lifecyclePolicies = new Map<string, aws.ecr.LifecyclePolicy>()
  for (const image of imagesOf(config)) {
    const repo = new aws.ecr.Repository(
      `${config.prefix}-${image}`,
      {
        name: `${config.prefix}-${stack}/${image}`,
        imageScanningConfiguration: {scanOnPush: true},
        imageTagMutability: 'MUTABLE',
        forceDelete: config.forceDestroyBucket,
      },
      opts,
    )
    const lifecycle = new aws.ecr.LifecyclePolicy(
      `${config.prefix}-${image}`,
      {repository: repo.name, policy: JSON.stringify(ecrLifecyclePolicy(config.untaggedImagesToKeep))},
      opts,
    )
    repos.set(image, repo)
    lifecyclePolicies.set(image, lifecycle)
  }
  return {repos, lifecyclePolicies}
}

export function logGroup(config: InfraConfig, stack: string, opts: pulumi.CustomResourceOptions) {
  return new aws.cloudwatch.LogGroup(
    `${config.prefix}-jobs`,
    {name: `/${config.prefix}/${stack}/jobs`, retentionInDays: config.logRetentionDays},
    opts,
  )
}

export interface JobDefinitionInputs {
  repositories: Map<string, aws.ecr.Repository>
  jobRoleArn: pulumi.Output<string>
  executionRoleArn: pulumi.Output<string>
  logGroupName: pulumi.Output<string>
  bucket: pulumi.Output<string>
}

/** One container job definition per kind: image, GPUs, logs, secrets by reference, retry defaults. */
export function jobDefinitions(config: InfraConfig, stack: string, input: JobDefinitionInputs, opts: pulumi.CustomResourceOptions) {
  const definitions = new Map<string, aws.batch.JobDefinition>()
  for (const kind of config.kinds) {
    const repo = input.repositories.get(kind.image)!
    const properties = pulumi
      .all([repo.repositoryUrl, input.jobRoleArn, input.executionRoleArn, input.logGroupName, input.bucket])
      .apply(([url, jobRoleArn, executionRoleArn, logGroupName, bucket]) =>
        JSON.stringify(
          containerProperties(config, {
            kind,
            imageUri: `${url}:${config.imageTag}`,
            jobRoleArn,
            executionRoleArn,
            logGroup: logGroupName,
            region: config.region,
            bucket,
          }),
        ),
      )
    definitions.set(
      kind.name,
      new aws.batch.JobDefinition(
        `${config.prefix}-${kind.name}`,
        {
          name: `${config.prefix}-${stack}-${kind.name}`,
          type: 'container',
          platformCapabilities: ['EC2'],
          containerProperties: properties,
          retryStrategy: retryStrategy(config),
          timeout: config.jobTimeoutSeconds ? {attemptDurationSeconds: config.jobTimeoutSeconds} : undefined,
          propagateTags: true,
        },
        opts,
      ),
    )
  }
  return definitions
}
