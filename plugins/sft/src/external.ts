/**
 * External mode: the pipeline's own script (seed 000's train_vqa_sft.py, seed 003's train_dpo.py) as
 * the trainer. The config's keys become the script's flags, so one config serves both modes; the
 * runtime syncs output_dir/checkpoint-* to the store and adds `--resume_from_checkpoint True` when it
 * restored one.
 */
import * as path from 'node:path'

import type {ExternalCommand} from 'rfm/plugin-api'

import {SftConfig} from './config'

/** The script's flags from the config, in the order the seed's examples write them. */
export function scriptFlags(c: SftConfig): string[] {
  const out: string[] = []
  const flag = (name: string, value: string | number | boolean | undefined | null) => {
    if (value === undefined || value === null || value === false) return
    if (value === true) out.push(`--${name}`)
    else out.push(`--${name}`, String(value))
  }
  if (c.stage === 'dpo') {
    flag('sft_checkpoint', c.sft_checkpoint)
    flag('beta', c.beta)
  }
  flag('dataset_path', c.dataset_path)
  flag('eval_dataset_path', c.eval_dataset_path)
  flag('model_name', c.model_name)
  flag('output_dir', c.output_dir)
  flag('use_unsloth', c.use_unsloth)
  flag('quantization', c.quantization)
  flag('freeze_vision_tower', c.freeze_vision_tower)
  flag('lora_rank', c.lora_rank)
  if (c.lora_rank > 0) flag('lora_alpha', c.lora_alpha)
  flag('learning_rate', c.learning_rate)
  flag('lr_scheduler_type', c.lr_scheduler_type)
  flag('warmup_ratio', c.warmup_ratio)
  const report = Array.isArray(c.report_to) ? c.report_to.join(',') : c.report_to
  flag('report_to', report)
  flag('wandb_project', c.wandb_project)
  flag('wandb_entity', c.wandb_entity)
  flag('save_strategy', c.save_strategy)
  flag('save_steps', c.save_steps)
  flag('save_total_limit', c.save_total_limit)
  flag('eval_strategy', c.eval_strategy)
  flag('eval_steps', c.eval_steps)
  flag('logging_steps', c.logging_steps)
  flag('per_device_train_batch_size', c.per_device_train_batch_size)
  flag('per_device_eval_batch_size', c.per_device_eval_batch_size)
  flag('gradient_accumulation_steps', c.gradient_accumulation_steps)
  flag('num_train_epochs', c.num_train_epochs)
  if (c.max_steps > 0) flag('max_steps', c.max_steps)
  flag('max_frames', c.max_frames)
  flag('gradient_checkpointing', c.gradient_checkpointing)
  flag('bf16', c.bf16)
  flag('seed', c.seed)
  flag('run_name', c.run_name)
  // True is added by the runtime once a checkpoint was restored; an explicit path or step is the user's
  if (c.resume_from_checkpoint !== undefined && c.resume_from_checkpoint !== true && c.resume_from_checkpoint !== false) flag('resume_from_checkpoint', c.resume_from_checkpoint)
  return out
}

export function externalCommand(c: SftConfig): ExternalCommand | undefined {
  const e = c.trainer.external
  if (!e) return undefined
  const argv = [...e.command, ...(e.pass_config ? scriptFlags(c) : [])]
  return {
    argv,
    cwd: e.workdir,
    env: e.env,
    checkpoints: {
      dir: path.resolve(e.workdir, c.output_dir),
      layout: 'hf',
      completeMarker: 'trainer_state.json',
      resumeArgs: ['--resume_from_checkpoint', 'True'],
      retention: {saveTotalLimit: c.save_total_limit},
    },
  }
}
