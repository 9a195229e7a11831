import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'

import type {InfraConfig} from './config'

/**
 * Networking choice: the default VPC's public subnets (or subnets the user names). GPU instances pull
 * multi-GB images from ECR and read datasets from S3; through a NAT gateway every byte would cost a
 * processing fee on top of the gateway's hourly price, and interface endpoints for ECR/ECS/Logs cost
 * per hour per zone. Public subnets with no inbound rules cost nothing, and the S3 gateway endpoint
 * (free) keeps dataset and checkpoint traffic on the AWS network. Bring private subnets with your own
 * NAT or endpoints through `network` when policy requires them.
 */
export function network(config: InfraConfig, opts: pulumi.CustomResourceOptions) {
  const invokeOpts = {provider: opts.provider}
  let vpcId: pulumi.Output<string>
  let subnetIds: pulumi.Output<string[]>
  if (config.network) {
    vpcId = pulumi.output(config.network.vpcId)
    subnetIds = pulumi.output(config.network.subnetIds)
  } else {
    vpcId = aws.ec2.getVpcOutput({default: true}, invokeOpts).id
    subnetIds = aws.ec2.getSubnetsOutput(
      {
        filters: [
          {name: 'vpc-id', values: [vpcId]},
          {name: 'default-for-az', values: ['true']},
        ],
      },
      invokeOpts,
    ).ids
  }

  const securityGroup = new aws.ec2.SecurityGroup(
    `${config.prefix}-batch`,
    {
      vpcId,
      description: 'rfm Batch instances: no inbound from outside, all outbound (ECR, S3, spot notices)',
      egress: [{protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['0.0.0.0/0'], ipv6CidrBlocks: ['::/0']}],
      // Multi-node jobs talk node to node (NCCL); nothing else may connect.
      ingress: [],
    },
    opts,
  )

  let s3Endpoint: aws.ec2.VpcEndpoint | undefined
  if (config.s3GatewayEndpoint) {
    const routeTableIds = aws.ec2.getRouteTablesOutput({vpcId}, invokeOpts).ids
    s3Endpoint = new aws.ec2.VpcEndpoint(`${config.prefix}-s3`, {vpcId, serviceName: `com.amazonaws.${config.region}.s3`, vpcEndpointType: 'Gateway', routeTableIds}, opts)
  }
  return {vpcId, subnetIds, securityGroup, s3Endpoint}
}
