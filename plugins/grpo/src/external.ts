/**
 * External mode: the pipeline's own grpo_rec.py (VLM-R1 / open-r1-multimodal) run by the rfm
 * runtime, with the config's keys mapped onto the script's flags, its output_dir/checkpoint-*
 * folders synced to the store, and `--resume_from_checkpoint <restored checkpoint-N>` added after a restore (the script passes it to trainer.train).
 */
import * as path from 'node:path'

import type {ExternalCommand, JobContext, PluginApi} from 'rfm/plugin-api'

import {builtinTargetModules, GrpoConfig, grpoConfigSchema} from './config'

/** The reward functions grpo_rec.py knows (spatial, counting and combined are rfm's built-in ones). */
export const SCRIPT_REWARDS = ['format', 'accuracy', 'reasoning']

/** GRPO keys passed only when they differ from their default, so older scripts that lack them still parse. */
const OPTIONAL_FLAGS = ['num_generations', 'temperature', 'top_p', 'max_completion_length', 'beta', 'epsilon', 'epsilon_high', 'num_iterations', 'scale_rewards', 'loss_type', 'mask_truncated_completions', 'reward_weights', 'max_steps', 'lr_scheduler_type', 'warmup_steps', 'weight_decay', 'max_grad_norm', 'eval_steps'] as const

export function checkExternal(api: Pick<PluginApi, 'configError'>, c: GrpoConfig): void {
  const unknown = c.reward_funcs.filter((f) => !SCRIPT_REWARDS.includes(f))
  if (unknown.length > 0) throw api.configError('reward_funcs', `grpo_rec.py has no ${unknown.join(', ')} reward`, `In external mode use ${SCRIPT_REWARDS.join(', ')}; spatial, counting and combined are built-in rewards.`)
  if (c.dataset_name === null || c.dataset_name === 'generated') throw api.configError('dataset_name', 'external mode needs a dataset folder (generated data is for the built-in trainer)')
  if (c.sft_checkpoint && !c.sft_checkpoint.includes('/')) throw api.configError('sft_checkpoint', `"${c.sft_checkpoint}" looks like a run id; external mode takes a model folder`, 'Pull the run first (rfm ckpt pull RUN DIR) and give that folder, or set model_name_or_path.')
}

export function externalCommand(api: Pick<PluginApi, 'z'>, config: Record<string, unknown>, _context: JobContext): ExternalCommand {
  const c = grpoConfigSchema(api.z).parse(config)
  const defaults = grpoConfigSchema(api.z).parse({}) as Record<string, unknown>
  const e = c.external
  const flags: string[] = [
    '--model_name_or_path', c.sft_checkpoint ?? c.model_name_or_path,
    '--dataset_name', String(c.dataset_name),
    ...(c.use_huggingface_dataset ? ['--use_huggingface_dataset'] : []),
    '--task_type', c.task_type,
    '--reward_funcs', ...c.reward_funcs,
    '--output_dir', c.output_dir,
    '--num_train_epochs', String(c.num_train_epochs),
    '--per_device_train_batch_size', String(c.per_device_train_batch_size),
    '--gradient_accumulation_steps', String(c.gradient_accumulation_steps),
    '--learning_rate', String(c.learning_rate),
    '--logging_steps', String(c.logging_steps),
    '--save_steps', String(c.save_steps),
    '--max_pixels', String(c.max_pixels),
    '--min_pixels', String(c.min_pixels),
    '--seed', String(c.seed),
  ]
  if (c.save_total_limit !== null) flags.push('--save_total_limit', String(c.save_total_limit))
  for (const key of OPTIONAL_FLAGS) {
    const value = (c as Record<string, unknown>)[key]
    if (value === null || value === undefined || JSON.stringify(value) === JSON.stringify(defaults[key])) continue
    if (typeof value === 'boolean') flags.push(`--${key}`, value ? 'True' : 'False')
    else if (Array.isArray(value)) flags.push(`--${key}`, ...value.map(String))
    else flags.push(`--${key}`, String(value))
  }
  if (c.use_peft) flags.push('--use_peft', '--lora_r', String(c.lora_r), '--lora_alpha', String(c.lora_alpha), '--lora_dropout', String(c.lora_dropout), '--target_modules', ...c.target_modules)
  if (c.bf16) flags.push('--bf16')
  if (c.fp16) flags.push('--fp16')
  if (c.gradient_checkpointing) flags.push('--gradient_checkpointing', 'True')
  if (c.deepspeed) flags.push('--deepspeed', c.deepspeed)
  const launcher = e.launcher.length > 0 ? e.launcher : [e.python]
  const env: Record<string, string> = {...e.env}
  if (c.debug_log) {
    // the script's own per-reward debug logs: LOG_PATH's name gains _<reward>_vqa
    env.DEBUG_MODE = 'true'
    env.LOG_PATH = path.join(path.resolve(e.workdir, c.debug_log), 'training_debug.txt')
  }
  return {
    argv: [...launcher, e.script, ...flags, ...e.extra_args],
    cwd: e.workdir,
    env,
    checkpoints: {
      dir: path.resolve(e.workdir, c.output_dir),
      layout: 'hf',
      completeMarker: 'trainer_state.json',
      resumeArgs: ['--resume_from_checkpoint', '{checkpoint}'],
      retention: {saveTotalLimit: c.save_total_limit ?? undefined},
    },
  }
}
