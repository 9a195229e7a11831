/**
 * External mode: the pipeline's own script (seed 000's train_vqa_sft.py, seed 003's train_dpo.py) as
 * the trainer. Exactly the keys the user set (config file, launch flags, --set) become the script's
 * flags; a key left unset is not passed, so the script's own default applies. Keys rfm does not know
 * are passed through as written. rfm adds `--output_dir` only when it is unset (the runtime syncs
 * output_dir/checkpoint-* to the store) and `--resume_from_checkpoint True` once it restored one.
 */
import * as os from 'node:os'
import * as path from 'node:path'

import type {ExternalCheckpointSpec, ExternalCommand, GivenKeys, PluginApi} from '@rfm/plugin-api'

import {SftConfig} from './config'

/** Config keys that are the script's flags (same names), in the order the seed's examples write them. */
export const SCRIPT_KEYS = [
  'sft_checkpoint',
  'beta',
  'rpo_alpha',
  'dataset_path',
  'eval_dataset_path',
  'model_name',
  'output_dir',
  'use_unsloth',
  'quantization',
  'freeze_vision_tower',
  'lora_rank',
  'lora_alpha',
  'learning_rate',
  'lr_scheduler_type',
  'warmup_ratio',
  'report_to',
  'wandb_project',
  'wandb_entity',
  'save_strategy',
  'save_steps',
  'save_total_limit',
  'eval_strategy',
  'eval_steps',
  'logging_steps',
  'per_device_train_batch_size',
  'per_device_eval_batch_size',
  'gradient_accumulation_steps',
  'num_train_epochs',
  'max_steps',
  'max_frames',
  'gradient_checkpointing',
  'bf16',
  'seed',
  'run_name',
  'resume_from_checkpoint',
  'max_samples',
] as const

/** The script's flags: the keys the user set, then the ones rfm does not know, as written. */
export function scriptFlags(api: Pick<PluginApi, 'external'>, c: SftConfig, given?: GivenKeys): {args: string[]; flagKeys: Record<string, string>} {
  const {args, flagKeys} = api.external.argvFromKeys(c as unknown as Record<string, unknown>, {
    keys: SCRIPT_KEYS,
    given,
    value: (key, value) => {
      // True is added by the runtime once a checkpoint was restored; an explicit path or step is the user's
      if (key === 'resume_from_checkpoint' && typeof value === 'boolean') return undefined
      return key === 'report_to' && Array.isArray(value) ? value.join(',') : value
    },
  })
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

export function externalCommand(api: Pick<PluginApi, 'external'>, c: SftConfig, given?: GivenKeys, runId = 'run'): ExternalCommand | undefined {
  const e = c.trainer.external
  if (!e) return undefined
  if (e.config_arg) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const {stringify} = require('yaml') as typeof import('yaml')
    const file = path.join(process.env.RFM_SCRATCH ?? os.tmpdir(), 'rfm-sft', runId, 'config.yaml')
    const maxSamples = c.max_samples === undefined ? [] : ['--max_samples', String(c.max_samples)]
    return {
      argv: [...e.command, e.config_arg, file, ...maxSamples],
      cwd: e.workdir,
      env: e.env,
      files: [{path: file, content: `# written by rfm for run ${runId}: the keys you set, as you wrote them\n${stringify(scriptConfigFile(c, given))}`}],
      outputs: c.outputs ?? [c.output_dir],
      checkpoints: hfCheckpoints(api, c, e.workdir),
    }
  }
  const {args, flagKeys} = e.pass_config ? scriptFlags(api, c, given) : {args: [], flagKeys: {}}
  const addedFlags: Record<string, string> = {}
  // the runtime syncs checkpoints from output_dir, so the script must write where rfm looks
  if (e.pass_config && !('--output_dir' in flagKeys)) {
    args.push('--output_dir', c.output_dir)
    addedFlags['--output_dir'] = "checkpoints are synced from output_dir (rfm's default when unset)"
  }
  return {
    argv: [...e.command, ...args],
    cwd: e.workdir,
    env: e.env,
    flagKeys,
    addedFlags,
    outputs: c.outputs ?? [c.output_dir],
    checkpoints: hfCheckpoints(api, c, e.workdir),
  }
}

/** output_dir/checkpoint-<step>/ of the HF Trainer; the seeds' scripts resume with `--resume_from_checkpoint True`. */
function hfCheckpoints(api: Pick<PluginApi, 'external'>, c: SftConfig, workdir: string): ExternalCheckpointSpec {
  return api.external.hfCheckpointSpec(path.resolve(workdir, c.output_dir), {resumeArgs: ['--resume_from_checkpoint', 'True'], saveTotalLimit: c.save_total_limit})
}
