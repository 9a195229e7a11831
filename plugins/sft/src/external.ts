/**
 * External mode: the pipeline's own script (seed 000's train_vqa_sft.py, seed 003's train_dpo.py) as
 * the trainer. Exactly the keys the user set (config file, launch flags, --set) become the script's
 * flags; a key left unset is not passed, so the script's own default applies. Keys rfm does not know
 * are passed through as written. rfm adds `--output_dir` only when it is unset (the runtime syncs
 * output_dir/checkpoint-* to the store) and `--resume_from_checkpoint True` once it restored one.
 */
import * as os from 'node:os'
import * as path from 'node:path'

import type {ExternalCommand, GivenKeys} from '@rfm/plugin-api'

import {SftConfig} from './config'

/** Config keys that are the script's flags (same names), in the order the seed's examples write them. */
export const SCRIPT_KEYS = [
  'sft_checkpoint', 'beta', 'rpo_alpha', 'dataset_path', 'eval_dataset_path', 'model_name', 'output_dir', 'use_unsloth', 'quantization',
  'freeze_vision_tower', 'lora_rank', 'lora_alpha', 'learning_rate', 'lr_scheduler_type', 'warmup_ratio', 'report_to', 'wandb_project',
  'wandb_entity', 'save_strategy', 'save_steps', 'save_total_limit', 'eval_strategy', 'eval_steps', 'logging_steps',
  'per_device_train_batch_size', 'per_device_eval_batch_size', 'gradient_accumulation_steps', 'num_train_epochs', 'max_steps', 'max_frames',
  'gradient_checkpointing', 'bf16', 'seed', 'run_name', 'resume_from_checkpoint', 'max_samples',
] as const

/** `--name value` for one value: true → `--name`, false of a known switch → nothing, lists → values, mappings → JSON. */
export function flagArgs(name: string, value: unknown, knownSwitch: boolean): string[] {
  if (value === undefined || value === null) return []
  if (value === true) return [`--${name}`]
  if (value === false) return knownSwitch ? [] : [`--${name}`, 'False']
  if (Array.isArray(value)) return [`--${name}`, ...value.map(String)]
  if (typeof value === 'object') return [`--${name}`, JSON.stringify(value)]
  return [`--${name}`, String(value)]
}

/** The keys to pass: those the user set; for runs recorded before rfm kept them, every key of the config. */
function setKeys(c: SftConfig, given: GivenKeys | undefined): Set<string> {
  return new Set(given ? Object.keys(given.keys) : Object.keys(c))
}

/** The script's flags: the keys the user set, then the ones rfm does not know, as written. */
export function scriptFlags(c: SftConfig, given?: GivenKeys): {args: string[]; flagKeys: Record<string, string>} {
  const keys = setKeys(c, given)
  const args: string[] = []
  const flagKeys: Record<string, string> = {}
  const values = c as unknown as Record<string, unknown>
  for (const key of SCRIPT_KEYS) {
    if (!keys.has(key)) continue
    let value = values[key]
    // True is added by the runtime once a checkpoint was restored; an explicit path or step is the user's
    if (key === 'resume_from_checkpoint' && typeof value === 'boolean') continue
    if (key === 'report_to' && Array.isArray(value)) value = value.join(',')
    const part = flagArgs(key, value, true)
    if (part.length > 0) flagKeys[`--${key}`] = key
    args.push(...part)
  }
  for (const [key, value] of Object.entries(given?.extra ?? {})) {
    const part = flagArgs(key, value, false)
    if (part.length > 0) flagKeys[`--${key}`] = key
    args.push(...part)
  }
  return {args, flagKeys}
}

/** rfm's own keys: never in the script's config file. */
const RFM_KEYS = new Set(['trainer_mode', 'trainer', 'builtin', 'spatial', 'outputs', 'dataset_size', 'stage', 'max_samples'])

/** A config-file script's YAML: the keys the user set, as written (seed 003's nested blocks included), then unknown ones. */
export function scriptConfigFile(c: SftConfig, given: GivenKeys | undefined): Record<string, unknown> {
  const values = c as unknown as Record<string, unknown>
  const keys = given ? Object.keys(given.keys) : Object.keys(c)
  const out: Record<string, unknown> = {}
  for (const key of keys) if (!RFM_KEYS.has(key) && key in values && values[key] !== undefined) out[key] = values[key]
  Object.assign(out, given?.extra ?? {})
  if (out.output_dir === undefined) out.output_dir = c.output_dir
  return out
}

export function externalCommand(c: SftConfig, given?: GivenKeys, runId = 'run'): ExternalCommand | undefined {
  const e = c.trainer.external
  if (!e) return undefined
  if (e.config_arg) {
    const {stringify} = require('yaml') as typeof import('yaml')
    const file = path.join(process.env.RFM_SCRATCH ?? os.tmpdir(), 'rfm-sft', runId, 'config.yaml')
    const maxSamples = c.max_samples === undefined ? [] : ['--max_samples', String(c.max_samples)]
    return {
      argv: [...e.command, e.config_arg, file, ...maxSamples],
      cwd: e.workdir,
      env: e.env,
      files: [{path: file, content: `# written by rfm for run ${runId}: the keys you set, as you wrote them\n${stringify(scriptConfigFile(c, given))}`}],
      outputs: c.outputs ?? [c.output_dir],
      checkpoints: {dir: path.resolve(e.workdir, c.output_dir), layout: 'hf', completeMarker: 'trainer_state.json', resumeArgs: ['--resume_from_checkpoint', 'True'], retention: {saveTotalLimit: c.save_total_limit}},
    }
  }
  const {args, flagKeys} = e.pass_config ? scriptFlags(c, given) : {args: [], flagKeys: {}}
  const addedFlags: Record<string, string> = {}
  // the runtime syncs checkpoints from output_dir, so the script must write where rfm looks
  if (e.pass_config && !('--output_dir' in flagKeys)) {
    args.push('--output_dir', c.output_dir)
    addedFlags['--output_dir'] = 'checkpoints are synced from output_dir (rfm\'s default when unset)'
  }
  return {
    argv: [...e.command, ...args],
    cwd: e.workdir,
    env: e.env,
    flagKeys,
    addedFlags,
    outputs: c.outputs ?? [c.output_dir],
    checkpoints: {
      dir: path.resolve(e.workdir, c.output_dir),
      layout: 'hf',
      completeMarker: 'trainer_state.json',
      resumeArgs: ['--resume_from_checkpoint', 'True'],
      retention: {saveTotalLimit: c.save_total_limit},
    },
  }
}
