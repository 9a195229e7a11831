/** Where a plan's workload comes from: a workload file, or a job kind's resource estimate. */
import * as path from 'node:path'

import {loadConfigFile} from '../config/load'
import {applyOverrides, parseOverride} from '../config/overrides'
import {validateConfig} from '../config/validate'
import {UsageError} from '../errors'
import type {KindEntry} from '../jobs/registry'
import {jobEstimate} from '../jobs/estimate'
import {resolveJob} from '../jobs/resolve'
import type {ResourceEstimate} from '../plugin-api'
import {type Workload, workloadSchema} from './workload'

export interface PlanInput {
  source: {kind?: string; file?: string; overrides: string[]}
  resources?: ResourceEstimate
  /** undefined when the job needs no GPU */
  workload?: Workload
}

export async function workloadFromFile(file: string, sets: string[] = [], cwd = process.cwd()): Promise<PlanInput> {
  const overrides = sets.map(parseOverride)
  const absolute = path.resolve(cwd, file)
  const raw = applyOverrides(await loadConfigFile(absolute), overrides)
  const workload = validateConfig(workloadSchema, raw, overrides.length ? `${file} (with --set)` : file)
  return {source: {file: absolute, overrides: overrides.map((o) => o.source)}, workload}
}

export async function workloadFromKind(entry: KindEntry, file?: string, sets: string[] = []): Promise<PlanInput> {
  const job = await resolveJob(entry, {file, sets})
  const source = {kind: entry.kind.name, file: job.source.file, overrides: job.source.overrides}
  if (!entry.kind.estimate) {
    throw new UsageError(`The ${entry.kind.name} job kind gives no resource estimate, so rfm cannot plan it.`, {
      hint: 'Describe the training as a workload file instead: rfm cloud plan --workload workload.yaml (see examples/plan/).',
    })
  }
  const resources = jobEstimate(job)!
  if (resources.gpus === 0) return {source, resources}
  if (!resources.workload) {
    throw new UsageError(`The ${entry.kind.name} job kind estimates ${resources.gpus} GPU(s) but describes no workload to size them.`, {
      hint: 'Pass the model-level description with --workload FILE (see examples/plan/).',
    })
  }
  // A spot notice becomes a checkpoint only for trainers that save on SIGTERM: rfm's built-in ones,
  // or an external one whose config says so (checkpoints.save_on_sigterm: true).
  const external = entry.kind.external?.(job.config, {runId: 'plan', attempt: 1, storeUrl: ''}) !== undefined || !entry.kind.train
  const declared = (job.config as {checkpoints?: {save_on_sigterm?: unknown}}).checkpoints?.save_on_sigterm === true
  const workload = {...resources.workload, save_on_sigterm: external ? declared : true}
  return {source, resources, workload: validateConfig(workloadSchema, workload, `the ${entry.kind.name} kind's estimate`)}
}
