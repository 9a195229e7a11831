/**
 * The stack config of the rfm infrastructure: everything `rfmInfrastructure` needs, validated by zod
 * so that a typo in a flag or a config file is a ConfigError naming the key, not a failed deployment
 * half an hour later. This module imports no Pulumi code: the CLI validates config before loading it.
 */
import {z} from 'zod'

/** GPU instance families the program knows: Batch accepts a family name as an instance type. */
export const GPU_FAMILIES = ['g4dn', 'g5', 'g6', 'g6e', 'gr6', 'p3', 'p4d', 'p4de', 'p5', 'p5e'] as const
export type GpuFamily = (typeof GPU_FAMILIES)[number]

/** The retention periods CloudWatch Logs accepts (days). */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const

const name = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'lower-case letters, digits and dashes, starting with a letter (at most 31)')

export const jobKindInfraSchema = z
  .object({
    name: name.describe('Job kind, as in `rfm cloud launch <kind>`.'),
    image: name.describe("Tag prefix of the definition's initial image (<repository>:<image>-<imageTag>); rfm replaces it at launch with the content-hash image it built."),
    gpus: z.number().int().min(0).max(8).default(1).describe('GPUs a job of this kind asks for by default.'),
    vcpus: z.number().int().min(1).default(4),
    memoryMiB: z.number().int().min(512).default(14_000).describe('Default memory; leaves room for the ECS agent on a 16 GiB instance.'),
    sharedMemoryMiB: z.number().int().min(64).default(2048).describe('/dev/shm size, for data-loader workers.'),
  })
  .strict()
export type JobKindInfra = z.infer<typeof jobKindInfraSchema>

/** A Secrets Manager or SSM parameter ARN, or an SSM parameter name. */
export const SECRET_REFERENCE = /^(arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]+:\d{12}:.+|\/[\w.\-/]+)$/

const secretRef = z
  .object({
    name: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name (A-Z, 0-9, _)'),
    valueFrom: z.string().regex(SECRET_REFERENCE, 'a Secrets Manager or SSM parameter ARN, or an SSM parameter name starting with /'),
  })
  .strict()
export type SecretRef = z.infer<typeof secretRef>

/** The definition a kind without its own uses (src/backends/aws-batch/request.ts chooseJobDefinition). */
export const DEFAULT_DEFINITION = 'default'

/** A job definition per kind name, plus `default` (rfm infra up passes the kinds the CLI has registered). */
export function kindsFor(names: readonly string[]): JobKindInfra[] {
  return [...new Set([...names, DEFAULT_DEFINITION])].map((kind) => jobKindInfraSchema.parse({name: kind, image: kind}))
}

/** The kinds rfm and its bundled plugins register, for a program run without the CLI (tests, pulumi up). */
export const DEFAULT_KINDS: JobKindInfra[] = kindsFor(['command', 'vlm', 'eval', 'sft', 'grpo', 'rm-eval', 'vla-sensor'])

export const infraConfigSchema = z
  .object({
    region: z
      .string()
      .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'an AWS region such as us-east-1')
      .describe('AWS region of the stack.'),
    prefix: name.default('rfm').describe('Prefix of resource names (ECR repositories, log group, job definitions).'),
    gpuFamilies: z.array(z.enum(GPU_FAMILIES)).min(1).default(['g5', 'g6']).describe('One spot compute environment per family, tried in this order.'),
    maxVcpus: z.record(z.enum(GPU_FAMILIES), z.number().int().min(1)).default({}).describe('Max vCPUs per spot family; others use defaultMaxVcpus.'),
    defaultMaxVcpus: z.number().int().min(1).default(256),
    onDemandMaxVcpus: z.number().int().min(1).default(64).describe('Max vCPUs of the on-demand environment.'),
    onDemandFallback: z.boolean().default(true).describe('Let the spot queue fall back to on-demand instances.'),
    kinds: z.array(jobKindInfraSchema).min(1).default(DEFAULT_KINDS).describe('Job kinds to make job definitions for.'),
    imageTag: z.string().min(1).default('latest'),
    untaggedImagesToKeep: z.number().int().min(1).default(5).describe('ECR lifecycle: untagged images kept.'),
    imagesToKeep: z.number().int().min(1).default(10).describe('ECR lifecycle: content-hash tagged images kept per image (base, external, each plugin); older ones expire.'),
    rootVolumeGiB: z.number().int().min(30).default(200).describe('Root volume of each instance: images, datasets and checkpoints.'),
    stopTimeoutSeconds: z.number().int().min(30).max(120).default(110).describe('SIGTERM→SIGKILL grace of a job container on cancel (TerminateJob) or timeout (ECS_CONTAINER_STOP_TIMEOUT).'),
    retryAttempts: z.number().int().min(1).max(10).default(5),
    jobTimeoutSeconds: z.number().int().min(60).optional(),
    logRetentionDays: z
      .number()
      .int()
      .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), `one of ${LOG_RETENTION_DAYS.join(', ')}`)
      .default(30),
    multipartAbortDays: z.number().int().min(1).default(7),
    bucketName: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name')
      .optional(),
    forceDestroyBucket: z.boolean().default(false).describe('Let `rfm infra destroy` delete a bucket that still holds objects.'),
    network: z
      .object({vpcId: z.string().regex(/^vpc-/), subnetIds: z.array(z.string().regex(/^subnet-/)).min(1)})
      .strict()
      .optional()
      .describe('An existing VPC and subnets (with a route to ECR and S3); default: the default VPC.'),
    s3GatewayEndpoint: z.boolean().default(true).describe('Add a (free) S3 gateway endpoint to the VPC; turn off if it already has one.'),
    amiType: z.enum(['ECS_AL2_NVIDIA', 'ECS_AL2023_NVIDIA']).default('ECS_AL2023_NVIDIA').describe('ECS GPU AMI Batch picks for the instances (AL2 GPU AMIs are at end of support).'),
    secrets: z.array(secretRef).default([]).describe('Environment variables every job gets from Secrets Manager/SSM.'),
    budget: z
      .object({monthlyUsd: z.number().positive(), emails: z.array(z.string().email()).min(1)})
      .strict()
      .optional()
      .describe('Monthly cost budget with alerts at 80% (forecast) and 100% (actual).'),
  })
  .strict()

export type InfraConfig = z.infer<typeof infraConfigSchema>
export type InfraConfigInput = z.input<typeof infraConfigSchema>

export function maxVcpusFor(config: InfraConfig, family: GpuFamily): number {
  return config.maxVcpus[family] ?? config.defaultMaxVcpus
}

/**
 * The image names rfm build pushes (tags <image>-<content hash>, src/containers/images.ts): base,
 * external, and per plugin kind its own and its external variant. The lifecycle keeps the newest N of each.
 */
export function imageNamesOf(config: InfraConfig): string[] {
  const plugins = config.kinds.map((kind) => kind.image).filter((image) => !['command', 'vlm', 'eval', DEFAULT_DEFINITION, 'base', 'external'].includes(image))
  return [...new Set(['base', 'external', ...plugins, ...plugins.map((p) => `external-${p}`)])]
}

/** The plain-value outputs of the stack (what `rfm infra up` writes into the profile). */
export interface InfraOutputs {
  region: string
  bucket: string
  queues: {spot: string; onDemand: string}
  jobDefinitions: Record<string, string>
  /** the one ECR repository every image goes to (tags <image>-<content hash>) */
  imageRepository: string
  repositories: Record<string, string>
  logGroup: string
  jobRoleArn: string
}
