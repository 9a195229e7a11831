import {jobEstimate} from './estimate'
import type {ResolvedJob} from './resolve'

export interface RequestedResources {
  gpus?: number
  cpus?: number
  memoryGiB?: number
}

/** Kinds whose estimate is a placeholder for planning, not what a job needs (the user's own trainer). */
const PLACEHOLDER_ESTIMATES = new Set(['command'])

/**
 * What a launch asks AWS Batch for, overriding the job definition: for a kind with a real estimate,
 * the estimate with the config's `resources` applied; for `command`, only the values `resources`
 * names — nothing when it names none, so the job definition's values apply, never a placeholder
 * (MEMORY is a hard limit on Batch: too little gets the trainer OOM-killed).
 */
export function requestedResources(job: Pick<ResolvedJob, 'kind' | 'config' | 'resources'>): RequestedResources | undefined {
  if (PLACEHOLDER_ESTIMATES.has(job.kind.name)) {
    const own = job.resources
    if (!own) return undefined
    const asked = {...(own.gpus !== undefined ? {gpus: own.gpus} : {}), ...(own.cpus !== undefined ? {cpus: own.cpus} : {}), ...(own.memory_gib !== undefined ? {memoryGiB: own.memory_gib} : {})}
    return Object.keys(asked).length > 0 ? asked : undefined
  }
  const estimate = jobEstimate(job)
  return estimate && {gpus: estimate.gpus, cpus: estimate.cpus, memoryGiB: estimate.memoryGiB}
}
