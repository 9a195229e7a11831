/** AWS SDK clients, created on first use (the SDK is never loaded at CLI start-up). */
import type {BatchClient} from '@aws-sdk/client-batch'
import type {CloudWatchLogsClient} from '@aws-sdk/client-cloudwatch-logs'
import type {EC2Client} from '@aws-sdk/client-ec2'

export function awsRegion(region?: string): string {
  return region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1'
}

export async function batchClient(region?: string): Promise<BatchClient> {
  const {BatchClient} = await import('@aws-sdk/client-batch')
  return new BatchClient({region: awsRegion(region)})
}

export async function logsClient(region?: string): Promise<CloudWatchLogsClient> {
  const {CloudWatchLogsClient} = await import('@aws-sdk/client-cloudwatch-logs')
  return new CloudWatchLogsClient({region: awsRegion(region)})
}

export async function ec2Client(region?: string): Promise<EC2Client> {
  const {EC2Client} = await import('@aws-sdk/client-ec2')
  return new EC2Client({region: awsRegion(region)})
}
