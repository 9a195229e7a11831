/**
 * External mode: the pipeline's own script (5st_VLA_TRAIN_VL_Lora_with_sensor.py) under the rfm
 * runtime. Exactly the keys the user set (config file, launch flags such as the seed's --sensor-lr,
 * --set) become its dashed flags; an unset key is not passed, so the script's own default applies
 * (its --sensor-output-dim is 3072, rfm's built-in 64). Keys rfm does not know are passed as
 * written. `mode: cache` runs the script's `--mode cache` step as a job. The script keeps its latest
 * checkpoint in ./checkpoints/qwen_vla_sensor.pt and resumes from it by itself, so rfm syncs that one
 * file (layout `file`) and restores it before a restart; no resume flag is added.
 */
import * as path from 'node:path'

import type {ExternalCommand, GivenKeys, PluginApi, ScriptArgs} from '@rfm/plugin-api'

import type {VlaConfig} from './config'

/** Config keys that are the script's flags (key with dashes), in the seed's README order. */
export const SCRIPT_KEYS = [
  'sensor_enabled',
  'fusion_strategy',
  'lr',
  'min_lr',
  'sensor_lr',
  'vl_lr',
  'vision_lr',
  'warmup_ratio',
  'hold_ratio',
  'sched_on',
  'grad_accum_steps',
  'batch_size',
  'num_workers',
  'finetune_vl',
  'lora_r',
  'lora_alpha',
  'lora_dropout',
  'unfreeze_last_n',
  'sensor_input_channels',
  'sensor_temporal_length',
  'sensor_output_dim',
  'sensor_loss_weight',
  'epochs',
  'max_steps',
  'max_samples',
] as const

const dashed = (key: string) => `--${key.replace(/_/g, '-')}`

/** The script's flags: `--mode`, then the keys the user set, then the ones rfm does not know. */
export function scriptFlags(api: Pick<PluginApi, 'external'>, c: VlaConfig, given?: GivenKeys): ScriptArgs {
  const mode = ['--mode', c.mode === 'cache' ? 'cache' : 'train']
  const rest = api.external.argvFromKeys(c as unknown as Record<string, unknown>, {keys: SCRIPT_KEYS, given, flag: dashed})
  const flagKeys: Record<string, string> = {}
  const addedFlags: Record<string, string> = {}
  if (given?.keys.mode) flagKeys['--mode'] = 'mode'
  else addedFlags['--mode'] = 'the script requires it (external mode trains)'
  return {args: [...mode, ...rest.args], flagKeys: {...flagKeys, ...rest.flagKeys}, addedFlags}
}

/** The seed's best and final weights beside its checkpoint (qwen_vla_sensor_best.pt, _final.pt) and its logs. */
function defaultOutputs(c: VlaConfig): string[] {
  const e = c.external
  const stem = e.checkpoint_file.replace(/\.pt$/, '')
  return [path.join(e.checkpoint_dir, `${stem}_best.pt`), path.join(e.checkpoint_dir, `${stem}_final.pt`), 'logs']
}

export function externalCommand(api: Pick<PluginApi, 'external'>, c: VlaConfig, runId: string, given?: GivenKeys): ExternalCommand {
  const e = c.external
  const program = e.launcher.length ? e.launcher : [e.python]
  const {args, flagKeys, addedFlags} = scriptFlags(api, c, given)
  return {
    argv: [...program, e.script, ...args],
    cwd: e.workdir,
    env: {RFM_RUN_ID: runId, PYTHONUNBUFFERED: '1'},
    flagKeys,
    addedFlags,
    outputs: c.outputs ?? defaultOutputs(c),
    // the cache step writes features, not checkpoints
    ...(c.mode === 'cache'
      ? {}
      : {
          checkpoints: {
            dir: path.resolve(e.workdir, e.checkpoint_dir),
            layout: 'file' as const,
            file: e.checkpoint_file,
            completeMarker: e.checkpoint_file,
            resumeArgs: [],
            retention: {saveTotalLimit: c.save_total_limit},
          },
        }),
  }
}
