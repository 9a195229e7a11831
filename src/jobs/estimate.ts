import type {ResourceEstimate} from '../plugin-api'
import type {ResolvedJob} from './resolve'

/** The kind's resource estimate with the config's `resources` overrides applied (gpus fixes the GPU count). */
export function jobEstimate(job: Pick<ResolvedJob, 'kind' | 'config' | 'resources'>): ResourceEstimate | undefined {
  const estimate = job.kind.estimate?.(job.config)
  const r = job.resources
  if (!r) return estimate
  const base: ResourceEstimate = estimate ?? {gpus: 0, gpuMemoryGiB: 0, cpus: 1, memoryGiB: 1}
  return {
    ...base,
    ...(r.gpus !== undefined ? {gpus: r.gpus, gpusFixed: true} : {}),
    ...(r.cpus !== undefined ? {cpus: r.cpus} : {}),
    ...(r.memory_gib !== undefined ? {memoryGiB: r.memory_gib} : {}),
  }
}
