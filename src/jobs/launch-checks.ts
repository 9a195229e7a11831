/**
 * Everything a launch can check before it stages, records or submits anything, shared by the real
 * launch and `--dry-run` so that the two refuse the same mistakes: a command line too long to exec,
 * what the backend cannot run, dataset paths that do not exist, `ds:` references and run checkpoints that are not in the store.
 * A config mistake found here exits 2 at once instead of failing (and being retried) at run time.
 */
import {existsSync} from 'node:fs'
import * as path from 'node:path'

import {ConfigError} from '../errors'
import type {ExternalCommand} from '../plugin-api'
import type {LaunchTarget, PlannedRun} from './launch'
import type {ResolvedJob} from './resolve'

const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i

/** The values at a dotted config path: a string, or the strings of a list (with their own paths). */
function valuesAt(config: Record<string, unknown>, field: string): Array<{field: string; value: string}> {
  const keys = field.split('.')
  let node: unknown = config
  for (const key of keys) node = node && typeof node === 'object' && !Array.isArray(node) ? (node as Record<string, unknown>)[key] : undefined
  if (typeof node === 'string') return [{field, value: node}]
  if (Array.isArray(node)) return node.flatMap((v, i) => (typeof v === 'string' ? [{field: `${field}.${i}`, value: v}] : []))
  return []
}

/** Dataset fields: a local path must exist; a ds: reference must name a dataset in the run's store. */
export async function checkDatasets(job: ResolvedJob, target: LaunchTarget): Promise<void> {
  const baseDir = job.source.file ? path.dirname(job.source.file) : process.cwd()
  for (const field of job.kind.datasetFields ?? []) {
    for (const {field: at, value} of valuesAt(job.config, field)) {
      if (value.startsWith('ds:')) {
        const {resolveRef} = await import('../staging/index.js')
        try {
          await resolveRef(target.runs.store, value)
        } catch (error) {
          const e = error as {code?: string; message: string; hint?: string}
          if (e.code !== 'NOT_FOUND' && e.code !== 'USAGE') throw error
          throw new ConfigError(`Config error at ${at}: ${e.message}`, {hint: e.hint, details: {path: at}})
        }
      } else if (!URL_LIKE.test(value) && !existsSync(path.resolve(baseDir, value))) {
        throw new ConfigError(`Config error at ${at}: the dataset path ${path.resolve(baseDir, value)} does not exist.`, {
          hint: 'Dataset paths are resolved relative to the config file; or give a ds:NAME@HASH reference.',
          details: {path: at},
        })
      }
    }
  }
}

/** Checkpoint fields (RUN[@step|best|final|latest]): the run must have that committed checkpoint now. */
export async function checkCheckpointRefs(job: ResolvedJob, target: LaunchTarget): Promise<void> {
  const baseDir = job.source.file ? path.dirname(job.source.file) : process.cwd()
  for (const field of job.kind.checkpointFields ?? []) {
    for (const {field: at, value} of valuesAt(job.config, field)) {
      // a folder (external trainers take one) is not a run reference
      if (value.includes('/') || existsSync(path.resolve(baseDir, value))) continue
      const {parseRunCheckpointRef} = await import('../checkpoint/run-ref.js')
      const {chooseCheckpoint} = await import('../checkpoint/pull.js')
      const {CheckpointStore} = await import('../checkpoint/store.js')
      try {
        const ref = parseRunCheckpointRef(value)
        const checkpoints = new CheckpointStore(target.runs.store, ref.runId)
        const choice = ref.choice ?? ((await checkpoints.pointer('final')) ? {pointer: 'final' as const} : 'latest')
        await chooseCheckpoint(checkpoints, choice)
      } catch (error) {
        const e = error as {code?: string; message: string; hint?: string}
        if (e.code !== 'NOT_FOUND' && e.code !== 'USAGE') throw error
        throw new ConfigError(`Config error at ${at}: ${e.message}`, {hint: e.hint ?? `List runs with rfm cloud ls; a run's checkpoints with rfm ckpt ls RUN.`, details: {path: at}})
      }
    }
  }
}

/** Linux: one argument or environment string holds at most 128 KiB (MAX_ARG_STRLEN), all of them about 2 MiB (ARG_MAX). */
export const MAX_ARG_BYTES = 128 * 1024
export const MAX_ARGV_ENV_BYTES = 1024 * 1024

/** The trainer's command line and environment must fit what exec accepts, or the attempt dies on spawn E2BIG. */
export function checkCommandSize(command: ExternalCommand | undefined): void {
  if (!command) return
  const entries = [...command.argv.map((a, i) => ({what: `argument ${i + 1} of the command`, text: a})), ...Object.entries(command.env).map(([k, v]) => ({what: `env.${k}`, text: `${k}=${v}`}))]
  let total = 0
  for (const {what, text} of entries) {
    const bytes = Buffer.byteLength(text) + 1
    total += bytes
    if (bytes > MAX_ARG_BYTES) {
      throw new ConfigError(
        `Config error: ${what} is ${(bytes / 1024).toFixed(0)} KiB; an argument or environment variable may hold at most ${MAX_ARG_BYTES / 1024} KiB (the operating system refuses to start the command).`,
        {
          code: 'CONFIG_TOO_LARGE',
          hint: 'Pass large values in a file (in workdir or a dataset) and give the command its path.',
        },
      )
    }
  }
  if (total > MAX_ARGV_ENV_BYTES) {
    throw new ConfigError(`Config error: the command line and environment add up to ${(total / 1024).toFixed(0)} KiB; at most ${MAX_ARGV_ENV_BYTES / 1024} KiB start reliably.`, {
      code: 'CONFIG_TOO_LARGE',
      hint: 'Pass large values in a file (in workdir or a dataset) and give the command its path.',
    })
  }
}

/** Every check of a launch that needs no upload: the real launch and --dry-run both run it. */
export async function checkLaunch(job: ResolvedJob, target: LaunchTarget, planned: PlannedRun): Promise<void> {
  checkCommandSize(planned.command)
  // A backend refuses what it cannot run before anything is staged or recorded.
  await target.backend.check?.(planned.run)
  await checkDatasets(job, target)
  await checkCheckpointRefs(job, target)
}
