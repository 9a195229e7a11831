import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'

import {maxVcpusFor, type GpuFamily, type InfraConfig} from './config'
import {userData} from './containers'

export interface ComputeInputs {
  subnetIds: pulumi.Input<string[]>
  securityGroupId: pulumi.Input<string>
  serviceRoleArn: pulumi.Input<string>
  instanceProfileArn: pulumi.Input<string>
  /** resources the compute environments must wait for (the service role's policy) */
  dependsOn: pulumi.Resource[]
}

/**
 * The GPU fleet: one launch template (disk, user data), a SPOT compute environment per GPU family and
 * one ON_DEMAND environment; queues that try the spot families in order, then on-demand.
 */
export function compute(config: InfraConfig, input: ComputeInputs, opts: pulumi.CustomResourceOptions) {
  const {prefix} = config
  const launchTemplate = new aws.ec2.LaunchTemplate(
    `${prefix}-gpu`,
    {
      description: 'rfm GPU instances: root volume for images and datasets, spot draining, checkpoint grace',
      updateDefaultVersion: true,
      blockDeviceMappings: [
        {
          deviceName: '/dev/xvda',
          ebs: {volumeSize: config.rootVolumeGiB, volumeType: 'gp3', encrypted: 'true', deleteOnTermination: 'true'},
        },
      ],
      // IMDSv2 only; hop limit 2 so the runtime inside the container can read the spot notice.
      metadataOptions: {httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 2},
      userData: Buffer.from(userData(config)).toString('base64'),
    },
    opts,
  )

  const resources = (type: 'SPOT' | 'EC2', allocationStrategy: string, instanceTypes: string[], maxVcpus: number) => ({
    type,
    allocationStrategy,
    instanceTypes,
    minVcpus: 0,
    maxVcpus,
    subnets: input.subnetIds,
    securityGroupIds: [input.securityGroupId],
    instanceRole: input.instanceProfileArn,
    launchTemplate: {launchTemplateId: launchTemplate.id, version: launchTemplate.latestVersion.apply(String)},
    ec2Configurations: [{imageType: config.amiType}],
  })
  const environment = (name: string, computeResources: ReturnType<typeof resources>) =>
    new aws.batch.ComputeEnvironment(`${prefix}-${name}`, {type: 'MANAGED', serviceRole: input.serviceRoleArn, computeResources}, {...opts, dependsOn: input.dependsOn})

  const spot = new Map<GpuFamily, aws.batch.ComputeEnvironment>()
  for (const family of config.gpuFamilies) {
    // Price-capacity-optimized: the pools least likely to be interrupted, cheapest among them.
    spot.set(family, environment(`spot-${family}`, resources('SPOT', 'SPOT_PRICE_CAPACITY_OPTIMIZED', [family], maxVcpusFor(config, family))))
  }
  const onDemand = environment('on-demand', resources('EC2', 'BEST_FIT_PROGRESSIVE', [...config.gpuFamilies], config.onDemandMaxVcpus))

  const queue = (name: string, environments: aws.batch.ComputeEnvironment[]) =>
    new aws.batch.JobQueue(
      `${prefix}-${name}`,
      {
        state: 'ENABLED',
        priority: 10,
        computeEnvironmentOrders: environments.map((env, index) => ({order: index + 1, computeEnvironment: env.arn})),
      },
      opts,
    )
  // Batch moves on to the next environment when the earlier ones are at their max vCPUs.
  const spotQueue = queue('spot', [...spot.values(), ...(config.onDemandFallback ? [onDemand] : [])])
  const onDemandQueue = queue('on-demand', [onDemand])

  return {launchTemplate, spot, onDemand, spotQueue, onDemandQueue}
}
