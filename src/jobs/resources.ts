import type {ResolvedJob} from './resolve'

export interface RequestedResources {
  gpus?: number
  cpus?: number
  memoryGiB?: number
}

/**
 * What a launch asks AWS Batch for, overriding the job definition: a config's own `resources` key
 * when the kind has one (only the values given), else the kind's estimate. A kind with a `resources`
 * key and none set asks for nothing, so the job definition's values apply — never a placeholder
 * (MEMORY is a hard limit on Batch: too little gets the trainer OOM-killed).
 */
export function requestedResources(job: Pick<ResolvedJob, 'kind' | 'config'>): RequestedResources | undefined {
  if ('resources' in job.kind.schema.shape) {
    const own = job.config.resources as {gpus?: number; cpus?: number; memory?: number} | undefined
    if (!own) return undefined
    return {...(own.gpus !== undefined ? {gpus: own.gpus} : {}), ...(own.cpus !== undefined ? {cpus: own.cpus} : {}), ...(own.memory !== undefined ? {memoryGiB: own.memory} : {})}
  }
  const estimate = job.kind.estimate?.(job.config)
  return estimate && {gpus: estimate.gpus, cpus: estimate.cpus, memoryGiB: estimate.memoryGiB}
}
