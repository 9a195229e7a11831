/**
 * IAM and bucket policy documents as pure functions of resolved ARNs, so the exact grants can be
 * read (and tested) as plain data. The program wraps them in `pulumi.all(...).apply(...)`.
 */
import type {SecretRef} from './config'

export interface Statement {
  Sid: string
  Effect: 'Allow' | 'Deny'
  Principal?: unknown
  Action: string[]
  Resource?: string[]
  Condition?: Record<string, Record<string, unknown>>
}

export interface PolicyDocument {
  Version: '2012-10-17'
  Statement: Statement[]
}

/**
 * What a job may read and write in the bucket: staged datasets and workdirs (their manifests under
 * datasets/, their file contents under objects/, see src/staging/layout.ts) are read-only; runs/ is
 * its only write area.
 */
export const READ_PREFIXES = ['datasets/', 'objects/', 'runs/'] as const
export const WRITE_PREFIXES = ['runs/'] as const

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn'
  if (region.startsWith('us-gov-')) return 'aws-us-gov'
  return 'aws'
}

export function assumeRolePolicy(service: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{Sid: 'AssumeRole', Effect: 'Allow', Principal: {Service: service}, Action: ['sts:AssumeRole']}],
  }
}

/** Refuses every request that does not use TLS, whoever makes it. */
export function tlsOnlyBucketPolicy(bucketArn: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: ['s3:*'],
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: {Bool: {'aws:SecureTransport': 'false'}},
      },
    ],
  }
}

/** The job role: read datasets/*, objects/* (staged contents) and runs/* (to resume), write and delete only under runs/*. */
export function jobRolePolicy(bucketArn: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ListStagedAndRuns',
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: [bucketArn],
        Condition: {StringLike: {'s3:prefix': READ_PREFIXES.map((p) => `${p}*`)}},
      },
      {Sid: 'ReadStagedAndRuns', Effect: 'Allow', Action: ['s3:GetObject'], Resource: READ_PREFIXES.map((p) => `${bucketArn}/${p}*`)},
      {
        Sid: 'WriteRuns',
        Effect: 'Allow',
        // DeleteObject: checkpoint retention (save_total_limit).
        Action: ['s3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: WRITE_PREFIXES.map((p) => `${bucketArn}/${p}*`),
      },
    ],
  }
}

/** IAM resource ARN of a secret reference: SSM names become ARNs; a Secrets Manager JSON-key suffix is dropped. */
export function secretResourceArn(ref: SecretRef, region: string, accountId: string): string {
  if (ref.valueFrom.startsWith('/')) return `arn:${partitionOf(region)}:ssm:${region}:${accountId}:parameter${ref.valueFrom}`
  const parts = ref.valueFrom.split(':')
  if (parts[2] !== 'secretsmanager') return ref.valueFrom
  const arn = parts.slice(0, 7).join(':')
  // A partial ARN (without the 6-character suffix Secrets Manager adds) needs the wildcard to match.
  return /-[A-Za-z0-9]{6}$/.test(parts[6] ?? '') ? arn : `${arn}-??????`
}

/**
 * The execution role (used by the ECS agent, not the job): pull the stack's images, write to its log
 * group, and fetch the named secrets, which reach the container as environment variables without
 * ever being stored in a job definition.
 */
export function executionRolePolicy(input: {repositoryArns: string[]; logGroupArn: string; secretArns: string[]}): PolicyDocument {
  const statements: Statement[] = [
    {Sid: 'EcrAuth', Effect: 'Allow', Action: ['ecr:GetAuthorizationToken'], Resource: ['*']},
    {
      Sid: 'PullImages',
      Effect: 'Allow',
      Action: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
      Resource: input.repositoryArns,
    },
    {Sid: 'WriteLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [`${input.logGroupArn}:*`]},
  ]
  const ssm = input.secretArns.filter((arn) => arn.split(':')[2] === 'ssm')
  const secretsManager = input.secretArns.filter((arn) => arn.split(':')[2] === 'secretsmanager')
  if (secretsManager.length > 0) statements.push({Sid: 'ReadSecrets', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: secretsManager})
  if (ssm.length > 0) statements.push({Sid: 'ReadParameters', Effect: 'Allow', Action: ['ssm:GetParameters'], Resource: ssm})
  return {Version: '2012-10-17', Statement: statements}
}

/**
 * ECR lifecycle: keep the newest `keep` content-hash tagged images per image name (tag prefix), and
 * `keepUntagged` untagged ones. An image matched by a rule is not evaluated by rules of lower
 * priority, so longer prefixes (external-sft-) come before the ones they start with (external-).
 */
export function ecrLifecyclePolicy(input: {imageNames: string[]; keep: number; keepUntagged: number}): object {
  const names = [...input.imageNames].sort((a, b) => b.length - a.length || a.localeCompare(b))
  return {
    rules: [
      ...names.map((image, i) => ({
        rulePriority: i + 1,
        description: `Keep the newest ${input.keep} ${image} images`,
        selection: {tagStatus: 'tagged', tagPrefixList: [`${image}-`], countType: 'imageCountMoreThan', countNumber: input.keep},
        action: {type: 'expire'},
      })),
      {
        rulePriority: names.length + 1,
        description: `Keep the last ${input.keepUntagged} untagged images`,
        selection: {tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: input.keepUntagged},
        action: {type: 'expire'},
      },
    ],
  }
}
