import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'

import {imageNamesOf, type InfraConfig} from './config'
import {containerProperties, retryStrategy} from './containers'
import {ecrLifecyclePolicy} from './policies'

/**
 * The ECR repository rfm build pushes every image to (tags <image>-<content hash>), scanned on push,
 * with the newest images of each name kept. It is the profile's imageRepository after rfm infra up.
 */
export function repositories(config: InfraConfig, stack: string, opts: pulumi.CustomResourceOptions) {
  const repos = new Map<string, aws.ecr.Repository>()
  const lifecyclePolicies = new Map<string, aws.ecr.LifecyclePolicy>()
  const repo = new aws.ecr.Repository(
    `${config.prefix}-images`,
    {
      name: `${config.prefix}-${stack}/images`,
      imageScanningConfiguration: {scanOnPush: true},
      imageTagMutability: 'MUTABLE',
      forceDelete: config.forceDestroyBucket,
    },
    opts,
  )
  const policy = ecrLifecyclePolicy({imageNames: imageNamesOf(config), keep: config.imagesToKeep, keepUntagged: config.untaggedImagesToKeep})
  lifecyclePolicies.set(IMAGES, new aws.ecr.LifecyclePolicy(`${config.prefix}-images`, {repository: repo.name, policy: JSON.stringify(policy)}, opts))
  repos.set(IMAGES, repo)
  return {repos, lifecyclePolicies}
}

/** The key of the one repository in `repositories` (and the stack output of that name). */
export const IMAGES = 'images'

export function logGroup(config: InfraConfig, stack: string, opts: pulumi.CustomResourceOptions) {
  return new aws.cloudwatch.LogGroup(`${config.prefix}-jobs`, {name: `/${config.prefix}/${stack}/jobs`, retentionInDays: config.logRetentionDays}, opts)
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
    const repo = input.repositories.get(IMAGES)!
    const properties = pulumi.all([repo.repositoryUrl, input.jobRoleArn, input.executionRoleArn, input.logGroupName, input.bucket]).apply(([url, jobRoleArn, executionRoleArn, logGroupName, bucket]) =>
      JSON.stringify(
        containerProperties(config, {
          kind,
          // Nothing pushes this tag: rfm cloud launch registers a revision with the image it built
          // (content-hash tag) and submits that; the definition carries the roles, logs and resources.
          imageUri: `${url}:${kind.image}-${config.imageTag}`,
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
