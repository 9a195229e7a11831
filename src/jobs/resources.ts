import {jobEstimate} from './estimate'
import type {ResolvedJob} from './resolve'

export interface RequestedResources {
  gpus?: number
  cpus?: number
  memoryGiB?: number
}

/**
 * What a launch asks AWS Batch for, overriding the job definition. A kind that cannot know its job's
 * needs (`command`) asks only for the values its config's `resources` key names, so with none set
 * the job definition's values apply — never a placeholder (MEMORY is a hard limit on Batch: too
 * little gets the trainer OOM-killed). Other kinds ask for their estimate with `resources` over it.
 */
export function requestedResources(job: Pick<ResolvedJob, 'kind' | 'config' | 'resources'>): RequestedResources | undefined {
  if (job.kind.resourcesFromConfigOnly) {
    const own = job.resources
    if (!own) return undefined
    const asked = {...(own.gpus !== undefined ? {gpus: own.gpus} : {}), ...(own.cpus !== undefined ? {cpus: own.cpus} : {}), ...(own.memory !== undefined ? {memoryGiB: own.memory} : {})}
    return Object.keys(asked).length > 0 ? asked : undefined
  }
  const estimate = jobEstimate(job)
  return estimate && {gpus: estimate.gpus, cpus: estimate.cpus, memoryGiB: estimate.memoryGiB}
}
