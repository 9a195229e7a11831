import type {ResourceEstimate} from '../plugin-api'
import type {ResolvedJob} from './resolve'

/** The kind's estimate per config object: a launch asks the hook once, however many parts need it. */
const estimates = new WeakMap<object, ResourceEstimate | undefined>()

function kindEstimate(job: Pick<ResolvedJob, 'kind' | 'config'>): ResourceEstimate | undefined {
  if (!job.kind.estimate) return undefined
  if (!estimates.has(job.config)) estimates.set(job.config, job.kind.estimate(job.config))
  return estimates.get(job.config)
}

/** The kind's resource estimate with the config's `resources` overrides applied (gpus fixes the GPU count). */
export function jobEstimate(job: Pick<ResolvedJob, 'kind' | 'config' | 'resources'>): ResourceEstimate | undefined {
  const estimate = kindEstimate(job)
  const r = job.resources
  if (!r) return estimate
  const base: ResourceEstimate = estimate ?? {gpus: 0, gpuMemoryGiB: 0, cpus: 1, memoryGiB: 1}
  return {
    ...base,
    ...(r.gpus !== undefined ? {gpus: r.gpus, gpusFixed: true} : {}),
    ...(r.cpus !== undefined ? {cpus: r.cpus} : {}),
    ...(r.memory !== undefined ? {memoryGiB: r.memory} : {}),
  }
}
