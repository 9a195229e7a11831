/**
 * `rfm doctor`: preflight of an aws-batch profile against the live stack, one finding per check
 * (ok, or the problem and its fix). Every AWS client is imported lazily. `cheap` runs only the
 * checks `rfm cloud launch` can afford before each submit (two Batch describe calls, a third for
 * whether the run's queue can place the job).
 */
import type {Profile} from '../config/profiles'
import {ConfigError} from '../errors'

export type DoctorStatus = 'ok' | 'problem' | 'skipped'

export interface DoctorFinding {
  check: string
  status: DoctorStatus
  message: string
  /** what to do about a problem */
  fix?: string
}

export interface DoctorOptions {
  /** registered job kinds (each needs an ACTIVE job definition) */
  kinds: string[]
  /** only the checks launch runs before submitting: queues and the job definition(s) */
  cheap?: boolean
  /**
   * the launch about to be submitted (cheap mode): its queue must be able to place the job's
   * vCPUs, GPUs and memory (./fit.ts)
   */
  request?: {queue: 'spot' | 'on-demand'; resources?: {cpus?: number; gpus?: number; memoryGiB?: number}}
  /** the content-hash tag of the image the current rfm builds (base image) */
  imageTag?: () => Promise<string>
}

const ok = (check: string, message: string): DoctorFinding => ({check, status: 'ok', message})
const problem = (check: string, message: string, fix: string): DoctorFinding => ({check, status: 'problem', message, fix})
const skipped = (check: string, message: string): DoctorFinding => ({check, status: 'skipped', message})
const errorText = (error: unknown) => `${(error as Error).name}: ${(error as Error).message}`

/** The bucket a profile's store lives in (s3://bucket/prefix). */
function bucketOf(profile: Profile): string | undefined {
  return profile.bucket ?? (profile.store?.startsWith('s3://') ? profile.store.slice(5).split('/')[0] : undefined)
}

export async function runDoctor(profile: Profile, options: DoctorOptions): Promise<DoctorFinding[]> {
  if (profile.backend !== 'aws-batch') {
    throw new ConfigError(`rfm doctor checks an aws-batch profile; this profile's backend is ${profile.backend ?? 'local'}.`, {hint: 'Pick one with --profile, or create the stack with rfm infra up.'})
  }
  const region = profile.region
  const findings: DoctorFinding[] = []
  const batchSdk = await import('@aws-sdk/client-batch')
  const batch = new batchSdk.BatchClient({region})

  if (!options.cheap) {
    const sts = await import('@aws-sdk/client-sts')
    try {
      const me = await new sts.STSClient({region}).send(new sts.GetCallerIdentityCommand({}))
      findings.push(ok('credentials', `account ${me.Account} as ${me.Arn}`))
    } catch (error) {
      findings.push(problem('credentials', `no working AWS credentials (${errorText(error)})`, 'Sign in: aws sso login --profile NAME (then AWS_PROFILE=NAME), or aws configure.'))
      return findings
    }
    const bucket = bucketOf(profile)
    if (!bucket) findings.push(problem('bucket', 'the profile has no S3 bucket (store is not s3://)', 'Run rfm infra up, which writes bucket and store into the profile.'))
    else {
      const s3 = await import('@aws-sdk/client-s3')
      try {
        await new s3.S3Client({region, ...(profile.endpoint ? {endpoint: profile.endpoint, forcePathStyle: true} : {})}).send(new s3.HeadBucketCommand({Bucket: bucket}))
        findings.push(ok('bucket', `s3://${bucket} is reachable`))
      } catch (error) {
        findings.push(problem('bucket', `s3://${bucket} is not reachable (${errorText(error)})`, 'Check the region and that the stack exists (rfm infra outputs), or run rfm infra up.'))
      }
    }
  }

  // Queues: exist, ENABLED, VALID.
  const queueArns = Object.entries(profile.queues ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string')
  const computeEnvironments = new Set<string>()
  const environmentsOf = new Map<string, string[]>()
  if (queueArns.length === 0) findings.push(problem('queues', 'the profile has no Batch job queues', 'Run rfm infra up (it writes queues into the profile).'))
  else {
    const found = (await batch.send(new batchSdk.DescribeJobQueuesCommand({jobQueues: queueArns.map((q) => q[1])}))).jobQueues ?? []
    for (const [name, arn] of queueArns) {
      const queue = found.find((q) => q.jobQueueArn === arn || q.jobQueueName === arn)
      if (!queue) findings.push(problem(`queue ${name}`, `${arn} does not exist`, 'Run rfm infra up to create it, or fix queues in the profile.'))
      else if (queue.state !== 'ENABLED' || queue.status !== 'VALID')
        findings.push(
          problem(
            `queue ${name}`,
            `${queue.jobQueueName} is ${queue.state}/${queue.status}${queue.statusReason ? ` (${queue.statusReason})` : ''}`,
            'Enable it (aws batch update-job-queue --state ENABLED) or run rfm infra up.',
          ),
        )
      else {
        findings.push(ok(`queue ${name}`, `${queue.jobQueueName} ENABLED and VALID`))
        const ordered = (queue.computeEnvironmentOrder ?? []).flatMap((order) => (order.computeEnvironment ? [order.computeEnvironment] : []))
        environmentsOf.set(name, ordered)
        for (const environment of ordered) computeEnvironments.add(environment)
      }
    }
  }

  // A job definition per registered kind (or the profile's default), ACTIVE.
  const definitions = profile.jobDefinitions ?? {}
  const wanted = options.kinds.map((kind) => [kind, definitions[kind] ?? definitions.default] as const)
  const refs = [...new Set(wanted.map((w) => w[1]).filter((r): r is string => Boolean(r)))]
  const described = refs.length > 0 ? ((await batch.send(new batchSdk.DescribeJobDefinitionsCommand({jobDefinitions: refs}))).jobDefinitions ?? []) : []
  for (const [kind, ref] of wanted) {
    const definition = ref && described.find((d) => d.jobDefinitionArn === ref || `${d.jobDefinitionName}:${d.revision}` === ref)
    if (!ref) findings.push(problem(`job definition ${kind}`, `no job definition for kind ${kind} (jobDefinitions.${kind} or .default)`, 'Run rfm infra up: it registers one per kind.'))
    else if (!definition || definition.status !== 'ACTIVE')
      findings.push(problem(`job definition ${kind}`, `${ref} is ${definition ? definition.status : 'missing'}`, 'Run rfm infra up to register it again.'))
    else findings.push(ok(`job definition ${kind}`, `${definition.jobDefinitionName}:${definition.revision} ACTIVE`))
  }
  if (options.request && wanted.length === 1) {
    const queueName = options.request.queue === 'on-demand' ? 'onDemand' : 'spot'
    const arns = environmentsOf.get(queueName) ?? []
    const definition = described.find((d) => d.jobDefinitionArn === wanted[0][1] || `${d.jobDefinitionName}:${d.revision}` === wanted[0][1])
    if (arns.length > 0 && definition) {
      const check = `queue ${queueName} fits the job`
      let environments: import('@aws-sdk/client-batch').ComputeEnvironmentDetail[] | undefined
      try {
        environments = (await batch.send(new batchSdk.DescribeComputeEnvironmentsCommand({computeEnvironments: arns})))?.computeEnvironments ?? []
      } catch (error) {
        // a launcher allowed to submit but not to read compute environments still launches, unchecked
        findings.push(skipped(check, `the compute environments could not be read (${errorText(error)})`))
      }
      if (environments) {
        const {jobNeeds, queueCannotPlace} = await import('./fit.js')
        const {loadCatalog} = await import('../scheduler/catalog.js')
        const needs = jobNeeds(definition, options.request.resources)
        const blocked = queueCannotPlace(needs, environments, (await loadCatalog()).instances)
        findings.push(blocked ? problem(check, blocked.message, blocked.fix) : ok(check, `${needs.vcpus} vCPUs, ${needs.gpus} GPUs`))
      }
    }
  }
  if (options.cheap) return findings

  findings.push(...(await computeChecks(batch, batchSdk, [...computeEnvironments], region)))
  findings.push(await imageCheck(profile, options))
  findings.push(...(await jobRoleChecks(profile, region)))
  return findings
}

/** Compute environments VALID, their instance families offered in their subnets' zones, and the vCPU quotas. */
async function computeChecks(
  batch: import('@aws-sdk/client-batch').BatchClient,
  batchSdk: typeof import('@aws-sdk/client-batch'),
  arns: string[],
  region: string | undefined,
): Promise<DoctorFinding[]> {
  if (arns.length === 0) return [skipped('compute environments', 'no queue to read them from')]
  const findings: DoctorFinding[] = []
  const ec2Sdk = await import('@aws-sdk/client-ec2')
  const ec2 = new ec2Sdk.EC2Client({region})
  const environments = (await batch.send(new batchSdk.DescribeComputeEnvironmentsCommand({computeEnvironments: arns}))).computeEnvironments ?? []
  const spotVcpus = new Map<string, number>()
  const onDemandVcpus = new Map<string, number>()
  for (const env of environments) {
    const name = env.computeEnvironmentName ?? env.computeEnvironmentArn ?? '?'
    if (env.status !== 'VALID' || env.state !== 'ENABLED') {
      findings.push(
        problem(
          `compute environment ${name}`,
          `${env.state}/${env.status}${env.statusReason ? `: ${env.statusReason}` : ''}`,
          'Fix what the status reason names (often the service role or subnets), then rfm infra up.',
        ),
      )
      continue
    }
    const resources: import('@aws-sdk/client-batch').ComputeResource = env.computeResources ?? ({} as import('@aws-sdk/client-batch').ComputeResource)
    const spot = resources.type === 'SPOT' || resources.type === 'FARGATE_SPOT'
    const subnets = resources.subnets ?? []
    const zones = subnets.length > 0 ? [...new Set(((await ec2.send(new ec2Sdk.DescribeSubnetsCommand({SubnetIds: subnets}))).Subnets ?? []).map((s) => s.AvailabilityZone!).filter(Boolean))] : []
    const types = resources.instanceTypes ?? []
    const missing: string[] = []
    for (const type of types) {
      // A family name (g5) stands for all its sizes; DescribeInstanceTypeOfferings filters by wildcard.
      const pattern = type.includes('.') ? type : `${type}.*`
      const offered = await ec2.send(
        new ec2Sdk.DescribeInstanceTypeOfferingsCommand({
          LocationType: 'availability-zone',
          Filters: [
            {Name: 'instance-type', Values: [pattern]},
            {Name: 'location', Values: zones},
          ],
        }),
      )
      if ((offered.InstanceTypeOfferings ?? []).length === 0) missing.push(type)
    }
    // Each quota this environment draws on must hold its maxvCpus (once per quota, however many families share it).
    const totals = spot ? spotVcpus : onDemandVcpus
    for (const name of new Set(types.map((type) => quotaName(type.split('.')[0], spot)))) totals.set(name, (totals.get(name) ?? 0) + (resources.maxvCpus ?? 0))
    if (missing.length > 0)
      findings.push(
        problem(
          `compute environment ${name}`,
          `${missing.join(', ')} not offered in ${zones.join(', ') || "its subnets' zones"}`,
          'Use subnets in zones that offer these types (rfm infra up --subnet-ids) or other GPU families.',
        ),
      )
    else findings.push(ok(`compute environment ${name}`, `VALID; ${types.join(', ')} offered in ${zones.join(', ')}`))
  }
  findings.push(...(await quotaChecks(new Map([...spotVcpus, ...onDemandVcpus]), region)))
  return findings
}

/** The EC2 vCPU quota (Service Quotas name) that covers a family, spot or on-demand. */
export function quotaName(family: string, spot: boolean): string {
  const f = family.toLowerCase()
  if (f.startsWith('g') || f.startsWith('vt')) return spot ? 'All G and VT Spot Instance Requests' : 'Running On-Demand G and VT instances'
  if (f.startsWith('p')) return spot ? (f === 'p5' || f.startsWith('p5') ? 'All P5 Spot Instance Requests' : 'All P4, P3 and P2 Spot Instance Requests') : 'Running On-Demand P instances'
  return spot ? 'All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests' : 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances'
}

async function quotaChecks(needed: Map<string, number>, region: string | undefined): Promise<DoctorFinding[]> {
  if (needed.size === 0) return []
  const sdk = await import('@aws-sdk/client-service-quotas')
  const client = new sdk.ServiceQuotasClient({region})
  const quotas = new Map<string, number>()
  let NextToken: string | undefined
  do {
    const page = await client.send(new sdk.ListServiceQuotasCommand({ServiceCode: 'ec2', NextToken}))
    for (const q of page.Quotas ?? []) if (q.QuotaName && q.Value !== undefined) quotas.set(q.QuotaName, q.Value)
    NextToken = page.NextToken
  } while (NextToken)
  return [...needed].map(([name, vcpus]) => {
    const quota = quotas.get(name)
    if (quota === undefined) return skipped(`quota ${name}`, 'not listed by Service Quotas in this region')
    if (quota < vcpus)
      return problem(
        `quota ${name}`,
        `${quota} vCPUs, below the ${vcpus} maxvCpus of the compute environments that use it`,
        `Request an increase in the Service Quotas console (EC2, "${name}") or lower --max-vcpus.`,
      )
    return ok(`quota ${name}`, `${quota} vCPUs ≥ ${vcpus} maxvCpus`)
  })
}

async function imageCheck(profile: Profile, options: DoctorOptions): Promise<DoctorFinding> {
  const repository = profile.imageRepository
  if (!repository) return problem('image', 'the profile names no image repository', "Run rfm infra up (it records the stack's repositories), then rfm build.")
  if (!options.imageTag) return skipped('image', 'no image tag to look for')
  const tag = await options.imageTag()
  const {ecrRegistry, parseRepository} = await import('../containers/ecr.js')
  try {
    const found = await ecrRegistry(parseRepository(repository)).hasTag(tag)
    return found
      ? ok('image', `${repository}:${tag} is in ECR`)
      : problem('image', `${repository}:${tag} (this rfm's base image) is not in ECR`, 'Build and push it: rfm build (a launch also builds it when missing).')
  } catch (error) {
    return problem('image', `cannot read ${repository} (${errorText(error)})`, 'Check that the repository exists (rfm infra up) and that you may ecr:DescribeImages.')
  }
}

/** What a run's job role must do, on the exact keys a run uses (iam:SimulatePrincipalPolicy). */
async function jobRoleChecks(profile: Profile, region: string | undefined): Promise<DoctorFinding[]> {
  const bucket = bucketOf(profile)
  if (!profile.jobRoleArn || !bucket) return [problem('job role', 'the profile has no jobRoleArn or bucket', 'Run rfm infra up (it records the job role).')]
  const prefix = profile.store?.startsWith('s3://') ? profile.store.slice(5 + bucket.length).replace(/^\/|\/$/g, '') : ''
  const key = (k: string) => `arn:aws:s3:::${bucket}/${prefix ? `${prefix}/` : ''}${k}`
  const hash = '0'.repeat(64)
  const needs: Array<{action: string; resource: string; what: string; context?: Record<string, string>}> = [
    {action: 's3:GetObject', resource: key(`datasets/${hash}/manifest.json`), what: 'read a dataset manifest'},
    {action: 's3:GetObject', resource: key(`objects/sha256/00/${hash}`), what: 'read staged file contents'},
    {action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}`, what: "list a run's checkpoints", context: {'s3:prefix': `${prefix ? `${prefix}/` : ''}runs/doctor/checkpoints/`}},
    {action: 's3:GetObject', resource: key('runs/doctor/run.json'), what: 'read the run record'},
    {action: 's3:PutObject', resource: key('runs/doctor/checkpoints/step-1/weights.bin'), what: 'write a checkpoint'},
    {action: 's3:PutObject', resource: key('runs/doctor/events.jsonl'), what: 'append run events'},
    {action: 's3:DeleteObject', resource: key('runs/doctor/checkpoints/step-1/weights.bin'), what: 'delete old checkpoints'},
  ]
  const sdk = await import('@aws-sdk/client-iam')
  const iam = new sdk.IAMClient({region})
  const findings: DoctorFinding[] = []
  try {
    for (const need of needs) {
      const result = await iam.send(
        new sdk.SimulatePrincipalPolicyCommand({
          PolicySourceArn: profile.jobRoleArn,
          ActionNames: [need.action],
          ResourceArns: [need.resource],
          ...(need.context ? {ContextEntries: Object.entries(need.context).map(([ContextKeyName, value]) => ({ContextKeyName, ContextKeyValues: [value], ContextKeyType: 'string' as const}))} : {}),
        }),
      )
      const decision = result.EvaluationResults?.[0]?.EvalDecision
      findings.push(
        decision === 'allowed'
          ? ok(`job role: ${need.what}`, `${need.action} on ${need.resource} allowed`)
          : problem(`job role: ${need.what}`, `${need.action} on ${need.resource} is ${decision ?? 'not evaluated'}`, "Run rfm infra up to restore the job role's policy."),
      )
    }
  } catch (error) {
    findings.push(
      problem('job role', `cannot simulate ${profile.jobRoleArn} (${errorText(error)})`, 'Allow yourself iam:SimulatePrincipalPolicy on the job role, or check it exists (rfm infra outputs).'),
    )
  }
  return findings
}
