/**
 * Building blocks of an external-mode command line, kept once for every kind (plugins reach them as
 * `api.external`): a config's keys → the script's flags, the checkpoint spec of a Hugging Face
 * Trainer's `output_dir/checkpoint-<step>/` folders, and a config's folder resolved against the
 * config file's folder.
 */
import {statSync} from 'node:fs'
import * as path from 'node:path'

import {configErrorAt} from '../config/validate'
import type {ExternalCheckpointSpec} from '../checkpoint/sync'
import type {ArgvFromKeysOptions, ScriptArgs} from '../plugin-api'

/**
 * `flag value` for one value: true → the flag alone; false → nothing for a switch the script knows
 * (its default), else `flag False` (Python's spelling); lists → the flag then each item; mappings → JSON.
 */
export function flagArgs(flag: string, value: unknown, knownSwitch: boolean): string[] {
  if (value === undefined || value === null) return []
  if (value === true) return [flag]
  if (value === false) return knownSwitch ? [] : [flag, 'False']
  if (Array.isArray(value)) return [flag, ...value.map(String)]
  if (typeof value === 'object') return [flag, JSON.stringify(value)]
  return [flag, String(value)]
}

/**
 * The script's flags from a config: each of `keys` the user set (in `keys` order; an unset one is not
 * passed, so the script's default applies), then the keys rfm does not know (`given.extra`), as written.
 */
export function argvFromKeys(config: Record<string, unknown>, options: ArgvFromKeysOptions): ScriptArgs {
  const {keys, given, flag = (key: string) => `--${key}`, value = (_key: string, v: unknown) => v, unset} = options
  const set = new Set(given ? Object.keys(given.keys) : Object.keys(config))
  const out: ScriptArgs = {args: [], flagKeys: {}, addedFlags: {}}
  const push = (key: string, part: string[]) => {
    if (part.length === 0) return
    out.flagKeys[part[0]] = key
    out.args.push(...part)
  }
  for (const key of keys) {
    if (set.has(key)) {
      push(key, flagArgs(flag(key), value(key, config[key]), true))
      continue
    }
    const added = unset?.(key)
    if (added && added.args.length > 0) {
      out.args.push(...added.args)
      out.addedFlags[added.args[0]] = added.why
    }
  }
  for (const [key, v] of Object.entries(given?.extra ?? {})) push(key, flagArgs(flag(key), v, false))
  return out
}

/**
 * Where a Hugging Face Trainer keeps its checkpoints: one `checkpoint-<step>/` folder per save in
 * `dir`, complete once `completeMarker` (default trainer_state.json, written last) exists in it.
 */
export function hfCheckpointSpec(dir: string, options: {resumeArgs: string[]; saveTotalLimit?: number; completeMarker?: string}): ExternalCheckpointSpec {
  return {dir, layout: 'hf', completeMarker: options.completeMarker ?? 'trainer_state.json', resumeArgs: options.resumeArgs, retention: {saveTotalLimit: options.saveTotalLimit}}
}

/**
 * `given` resolved against `baseDir` (the config file's folder); a config error naming `key` when it
 * is not a directory.
 */
export function resolveDir(baseDir: string, given: string, key: string, hint?: string): string {
  const dir = path.resolve(baseDir, given)
  let isDir = false
  try {
    isDir = statSync(dir).isDirectory()
  } catch {}
  if (!isDir) throw configErrorAt(key, `${dir} is not a directory`, hint)
  return dir
}

/**
 * Seed 003's `training` and `hardware` blocks (configs/*_config.yaml) → the Hugging Face
 * TrainingArguments keys they stand for (only those given). Each kind maps its own `model` block.
 */
export function hfKeysFromSeedBlocks(c: {training?: Record<string, unknown>; hardware?: Record<string, unknown>}): Record<string, unknown> {
  const t = c.training ?? {}
  const out: Record<string, unknown> = {
    num_train_epochs: t.num_epochs,
    per_device_train_batch_size: t.batch_size,
    gradient_accumulation_steps: t.gradient_accumulation_steps,
    learning_rate: t.learning_rate,
    gradient_checkpointing: t.gradient_checkpointing,
    bf16: c.hardware?.bf16,
  }
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined))
}

export const externalArgsKit = {flagArgs, argvFromKeys, hfCheckpointSpec, resolveDir, hfKeysFromSeedBlocks}
