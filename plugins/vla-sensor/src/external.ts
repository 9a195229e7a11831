/**
 * External mode: the pipeline's own training script (5st_VLA_TRAIN_VL_Lora_with_sensor.py) under
 * the rfm runtime. The script keeps its latest checkpoint in ./checkpoints/qwen_vla_sensor.pt and
 * resumes from it by itself, so rfm syncs that one file (layout `file`) and restores it before a
 * restart; no resume flag is added.
 */
import * as path from 'node:path'

import type {ExternalCommand} from 'rfm/plugin-api'

import type {VlaConfig} from './config'

/** The script's flags, from the config keys that share its names. */
export function scriptArgs(c: VlaConfig): string[] {
  const args = ['--mode', 'train']
  if (c.sensor_enabled) args.push('--sensor-enabled')
  const pairs: [string, string | number][] = [
    ['--fusion-strategy', c.fusion_strategy],
    ['--lr', c.lr],
    ['--min-lr', c.min_lr],
    ['--sensor-lr', c.sensor_lr],
    ['--vl-lr', c.vl_lr],
    ['--vision-lr', c.vision_lr],
    ['--warmup-ratio', c.warmup_ratio],
    ['--hold-ratio', c.hold_ratio],
    ['--sched-on', c.sched_on],
    ['--grad-accum-steps', c.grad_accum_steps],
    ['--batch-size', c.batch_size],
    ['--num-workers', c.num_workers],
    ['--finetune-vl', c.finetune_vl],
    ['--lora-r', c.lora_r],
    ['--lora-alpha', c.lora_alpha],
    ['--lora-dropout', c.lora_dropout],
    ['--unfreeze-last-n', c.unfreeze_last_n],
    ['--sensor-input-channels', c.sensor_input_channels],
    ['--sensor-temporal-length', c.sensor_temporal_length],
    ['--sensor-output-dim', c.sensor_output_dim],
    ['--sensor-loss-weight', c.sensor_loss_weight],
  ]
  for (const [flag, value] of pairs) args.push(flag, String(value))
  return args
}

export function externalCommand(c: VlaConfig, runId: string): ExternalCommand {
  const e = c.external
  const program = e.launcher.length ? e.launcher : [e.python]
  return {
    argv: [...program, e.script, ...scriptArgs(c)],
    cwd: e.workdir,
    env: {RFM_RUN_ID: runId, PYTHONUNBUFFERED: '1'},
    checkpoints: {
      dir: path.resolve(e.workdir, e.checkpoint_dir),
      layout: 'file',
      file: e.checkpoint_file,
      completeMarker: e.checkpoint_file,
      resumeArgs: [],
      retention: {saveTotalLimit: c.save_total_limit},
    },
  }
}
