/**
 * Automatic staging at launch: for the config fields a job kind marks as datasets
 * (`JobKind.datasetFields`, dotted paths), a local path is staged and replaced by its `ds:` ref in
 * the config that is recorded, so the job pulls exactly the bytes that were on disk at launch.
 * Values that are already references (ds:…) or URLs (s3://, https://) are left alone.
 */
import * as path from 'node:path'

import {ConfigError} from '../errors'
import type {ObjectStore} from '../store/types'
import {nameFromPath} from './layout'
import {stageTree, type StageOptions, type StageResult} from './stage'

export interface StagedField {
  field: string
  /** the path as the config gave it */
  given: string
  path: string
  ref: string
  uploadedFiles: number
  uploadedBytes: number
  files: number
  bytes: number
}

const NOT_A_PATH = /^(ds:|[a-z][a-z0-9+.-]*:\/\/)/i

export async function stageConfigPaths(
  config: Record<string, unknown>,
  fields: readonly string[],
  store: ObjectStore,
  options: {baseDir: string; stage?: Omit<StageOptions, 'name'>; onStaged?(staged: StagedField): void},
): Promise<{config: Record<string, unknown>; staged: StagedField[]}> {
  const result = structuredClone(config)
  const staged: StagedField[] = []
  const done = new Map<string, StageResult>()
  const stageOne = async (field: string, value: string): Promise<string> => {
    if (NOT_A_PATH.test(value)) return value
    const abs = path.resolve(options.baseDir, value)
    let outcome = done.get(abs)
    if (!outcome) {
      try {
        outcome = await stageTree(store, abs, {...options.stage, name: nameFromPath(abs)})
      } catch (error) {
        if ((error as {code?: string}).code === 'NOT_FOUND') {
          throw new ConfigError(`Config error at ${field}: the dataset path ${abs} does not exist.`, {
            hint: 'Dataset paths are resolved relative to the config file; or give a ds:NAME@HASH reference.',
            details: {path: field},
          })
        }
        throw error
      }
      done.set(abs, outcome)
    }
    const entry: StagedField = {
      field,
      given: value,
      path: abs,
      ref: outcome.ref,
      uploadedFiles: outcome.uploadedFiles,
      uploadedBytes: outcome.uploadedBytes,
      files: outcome.files,
      bytes: outcome.bytes,
    }
    staged.push(entry)
    options.onStaged?.(entry)
    return outcome.ref
  }
  for (const field of fields) {
    const keys = field.split('.')
    let parent: Record<string, unknown> | undefined = result
    for (const key of keys.slice(0, -1)) {
      const next: unknown = parent?.[key]
      parent = next && typeof next === 'object' && !Array.isArray(next) ? (next as Record<string, unknown>) : undefined
    }
    const last = keys[keys.length - 1]
    const value = parent?.[last]
    if (!parent || value === undefined || value === null) continue
    if (typeof value === 'string') parent[last] = await stageOne(field, value)
    else if (Array.isArray(value)) {
      const out: unknown[] = []
      for (const [i, item] of value.entries()) out.push(typeof item === 'string' ? await stageOne(`${field}.${i}`, item) : item)
      parent[last] = out
    }
  }
  return {config: result, staged}
}
