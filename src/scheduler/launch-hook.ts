/**
 * What `rfm cloud launch` says about placement: for kinds whose estimate describes a GPU
 * workload, the top feasible plan and one line of why. Planning never blocks a launch (the local
 * backend runs where it is); a workload that fits nowhere is reported as a warning.
 */
import {isRfmError} from '../errors'
import {jobEstimate} from '../jobs/estimate'
import type {ResolvedJob} from '../jobs/resolve'
import {loadCatalog} from './catalog'
import {loadInterruptions} from './interruptions'
import {planWorkload, type Plan} from './plan'
import {workloadSchema} from './workload'

export interface LaunchPlanNote {
  chosen: Plan | null
  line: string
}

export async function launchPlanNote(job: ResolvedJob): Promise<LaunchPlanNote | undefined> {
  const estimate = jobEstimate(job)
  if (!estimate || estimate.gpus === 0 || !estimate.workload) return undefined
  try {
    const workload = workloadSchema.parse(estimate.workload)
    const [catalog, interruptions] = await Promise.all([loadCatalog(), loadInterruptions()])
    const result = planWorkload(workload, catalog, interruptions, estimate.gpusFixed ? {gpus: estimate.gpus} : {})
    const c = result.chosen
    if (!c) return {chosen: null, line: `Plan: no instance meets every constraint (${result.warnings.join('; ')}).`}
    const stale = result.warnings.find((w) => w.startsWith('prices are from'))
    return {
      chosen: c,
      line: `Plan: ${c.instanceType} ${c.market} in ${c.region}, $${c.expectedCost} expected over ${c.expectedHours.toFixed(1)} h, save_steps ${c.saveSteps.recommended} — ${c.why}.${stale ? ` (${stale})` : ''}`,
    }
  } catch (error) {
    if (isRfmError(error)) return {chosen: null, line: `Plan: ${error.message}${error.hint ? ` ${error.hint}` : ''}`}
    throw error
  }
}
