/**
 * Whether a job's queue can ever place it. AWS Batch accepts a SubmitJob whose vCPUs, memory or
 * GPUs no compute environment of the queue can hold, and leaves the job RUNNABLE for good (blocked
 * reasons COMPUTE_ENVIRONMENT_MAX_RESOURCE: "All compute environments have a maxvCpus parameter
 * that is smaller than the job requirements", and JOB_RESOURCE_REQUIREMENT: "None of the compute
 * environments have instances that meet the job requirements"; Batch's JobStateTimeLimitActions
 * reasons). Launch refuses such a job before staging anything.
 *
 * Instance shapes come from rfm's catalog; an environment with a type or family the catalog does
 * not know (or Batch's `optimal`) is taken to fit, so only sure failures are refused.
 */
import type {ComputeEnvironmentDetail, JobDefinition} from '@aws-sdk/client-batch'

import type {InstanceType} from '../scheduler/catalog'

export interface JobNeeds {
  vcpus: number
  gpus: number
  memoryMiB?: number
}

/** What asked of Batch: the submit's overrides over the job definition's own requirements. */
export function jobNeeds(definition: JobDefinition | undefined, overrides: {cpus?: number; gpus?: number; memoryGiB?: number} = {}): JobNeeds {
  const own = new Map((definition?.containerProperties?.resourceRequirements ?? []).map((r) => [r.type, Number(r.value)]))
  const vcpus = overrides.cpus !== undefined ? Math.max(1, Math.ceil(overrides.cpus)) : (own.get('VCPU') ?? definition?.containerProperties?.vcpus ?? 1)
  const gpus = overrides.gpus ?? own.get('GPU') ?? 0
  const memoryMiB = overrides.memoryGiB !== undefined ? Math.ceil(overrides.memoryGiB * 1024) : (own.get('MEMORY') ?? definition?.containerProperties?.memory)
  return {vcpus, gpus, ...(memoryMiB !== undefined ? {memoryMiB} : {})}
}

const needText = (n: JobNeeds) => [`${n.vcpus} vCPUs`, ...(n.gpus ? [`${n.gpus} GPU${n.gpus > 1 ? 's' : ''}`] : []), ...(n.memoryMiB ? [`${Math.round(n.memoryMiB / 102.4) / 10} GiB`] : [])].join(', ')

/** The instance types an environment may launch, or undefined when one of them is not in the catalog. */
function shapesOf(environment: ComputeEnvironmentDetail, instances: InstanceType[]): InstanceType[] | undefined {
  const out: InstanceType[] = []
  for (const name of environment.computeResources?.instanceTypes ?? []) {
    const found = name.includes('.') ? instances.filter((i) => i.type === name) : instances.filter((i) => i.family === name)
    if (found.length === 0) return undefined
    out.push(...found)
  }
  return out.length > 0 ? out : undefined
}

const holds = (i: InstanceType, n: JobNeeds) => i.vcpus >= n.vcpus && i.gpus >= n.gpus && (n.memoryMiB === undefined || i.memoryGiB * 1024 >= n.memoryMiB)

/** Why no environment of the queue can place the job, with the fix; undefined when one can (or may). */
export function queueCannotPlace(needs: JobNeeds, environments: ComputeEnvironmentDetail[], instances: InstanceType[]): {message: string; fix: string} | undefined {
  if (environments.length === 0) return undefined
  const maxVcpus = environments.map((e) => e.computeResources?.maxvCpus ?? Number.POSITIVE_INFINITY)
  if (maxVcpus.every((m) => m < needs.vcpus)) {
    return {
      message: `the job asks for ${needs.vcpus} vCPUs and its queue's compute environments allow at most ${Math.max(...maxVcpus)} (maxvCpus): Batch would hold it RUNNABLE for good`,
      fix: 'Ask for fewer vCPUs (resources.cpus), or raise maxvCpus: rfm infra up --max-vcpus FAMILY=N.',
    }
  }
  const shapes: InstanceType[] = []
  for (const environment of environments) {
    const known = shapesOf(environment, instances)
    if (!known || known.some((i) => holds(i, needs))) return undefined
    shapes.push(...known)
  }
  const largest = shapes.reduce((a, b) => (b.gpus > a.gpus || (b.gpus === a.gpus && b.vcpus > a.vcpus) ? b : a))
  const families = [...new Set(shapes.map((s) => s.family))]
  const bigger = [...new Set(instances.filter((i) => holds(i, needs)).map((i) => i.family))]
  return {
    message: `the job asks for ${needText(needs)} and no instance type of its queue has that (the largest, ${largest.type}, has ${largest.vcpus} vCPUs, ${largest.gpus} GPUs, ${largest.memoryGiB} GiB): Batch would hold it RUNNABLE for good`,
    fix:
      bigger.length > 0
        ? `Ask for less (resources), or add a family whose instances hold it: rfm infra up --gpu-families ${[...families, bigger[0]].join(',')}.`
        : "No instance type in rfm's catalog holds that on one host (multi-node jobs are not supported): ask for less (resources).",
  }
}
