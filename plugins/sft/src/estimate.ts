/**
 * Resources for the scheduler. External mode: the named model's size and the method (full, frozen
 * vision, LoRA, 4-bit) through the scheduler's memory model, which is fitted to seed 000's table
 * (Qwen3-VL-4B per GPU: full ≈ 40 GB, frozen vision ≈ 25, LoRA r=16 ≈ 20, 4-bit ≈ 15). The built-in
 * trainer's compact VLM needs no GPU.
 */
import {existsSync, readFileSync} from 'node:fs'
import * as path from 'node:path'

import type {ResourceEstimate, WorkloadInput} from '@rfm/plugin-api'

import {isExternal, SftConfig} from './config'

/** Sizes of the models the seeds train, billions of parameters (total, vision tower). */
export const MODEL_PRESETS: Record<string, {params_b: number; vision_params_b: number}> = {
  'Qwen/Qwen3-VL-2B-Instruct': {params_b: 2.13, vision_params_b: 0.42},
  'Qwen/Qwen3-VL-4B-Instruct': {params_b: 4.44, vision_params_b: 0.42},
  'Qwen/Qwen3-VL-8B-Instruct': {params_b: 8.77, vision_params_b: 0.58},
  'Qwen/Qwen2.5-VL-3B-Instruct': {params_b: 3.75, vision_params_b: 0.67},
  'Qwen/Qwen2.5-VL-7B-Instruct': {params_b: 8.29, vision_params_b: 0.67},
}

/** "…-4B-…" → 4: a size read from the name when it is not a preset. */
export function modelSize(name: string): {params_b: number; vision_params_b: number} | undefined {
  const preset = MODEL_PRESETS[name]
  if (preset) return preset
  const match = /(\d+(?:\.\d+)?)B\b/i.exec(name)
  return match ? {params_b: Number(match[1]), vision_params_b: 0.1 * Number(match[1])} : undefined
}

/** Rows of a local save_to_disk dataset from its shard footers is too costly here; dataset_info/state say it. */
function localRows(dir: string | null): number | undefined {
  if (!dir || !existsSync(path.join(dir, 'dataset_info.json'))) return undefined
  try {
    const info = JSON.parse(readFileSync(path.join(dir, 'dataset_info.json'), 'utf8')) as {splits?: Record<string, {num_examples?: number}>}
    const n = Object.values(info.splits ?? {}).reduce((a, s) => a + (s.num_examples ?? 0), 0)
    return n > 0 ? n : undefined
  } catch {
    return undefined
  }
}

export function workload(c: SftConfig): WorkloadInput | undefined {
  const size = modelSize(c.model_name)
  if (!size) return undefined
  const method = c.quantization ? 'qlora4' : c.lora_rank > 0 ? 'lora' : c.freeze_vision_tower ? 'frozen_vision' : 'full'
  return {
    name: c.run_name,
    kind: c.stage,
    model: {name: c.model_name, ...size},
    method,
    ...(c.lora_rank > 0 ? {lora_rank: c.lora_rank} : {}),
    per_device_train_batch_size: c.per_device_train_batch_size,
    gradient_accumulation_steps: c.gradient_accumulation_steps,
    // Calibrated on seed 000's memory table, which is for its own default run (max_frames 32): the
    // scheduler's memory model is fitted at 1024 text tokens + one 256-token image at batch 4, so
    // that run maps onto the fitted point and other frame budgets scale its vision tokens linearly.
    seq_len: 1024,
    frames: 1,
    vision_tokens_per_frame: Math.max(1, Math.round((256 * c.max_frames) / SEED_MAX_FRAMES)),
    samples: c.dataset_size ?? localRows(c.dataset_path) ?? 43_000,
    epochs: c.num_train_epochs,
    unsloth: c.use_unsloth ?? false,
    learning_rate: c.learning_rate,
    save_steps: c.save_strategy === 'steps' ? c.save_steps : undefined,
  }
}

/** The frame budget of seed 000's runs (its examples' --max_frames), at which its memory table holds. */
const SEED_MAX_FRAMES = 32

/** Seed 000's "Memory (Qwen3-VL-4B per GPU)" table, GB, by method. */
export const SEED_MEMORY_TABLE = {full: 40, frozen_vision: 25, lora: 20, qlora4: 15} as const
const TABLE_PARAMS_B = 4.44

/** Per-GPU memory from the seed's table, scaled by model size; DPO without adapters holds a reference copy (bf16). */
export function gpuMemoryGiB(w: WorkloadInput): number {
  const method = (w.method ?? 'lora') as keyof typeof SEED_MEMORY_TABLE
  const scaled = (SEED_MEMORY_TABLE[method] * w.model.params_b) / TABLE_PARAMS_B
  const reference = w.kind === 'dpo' && (method === 'full' || method === 'frozen_vision') ? (w.model.params_b * 2e9) / 2 ** 30 : 0
  return Math.round((scaled + reference) * 10) / 10
}

/** The GPU count of the external command's launcher (accelerate launch --num_processes N, torchrun, deepspeed), else 1. */
export function externalGpus(c: SftConfig, launcherGpus: (argv: readonly string[]) => number | undefined): {gpus: number; gpusFixed?: boolean} {
  const n = c.trainer.external ? launcherGpus(c.trainer.external.command) : undefined
  return n === undefined ? {gpus: 1} : {gpus: n, gpusFixed: true}
}

export function estimate(c: SftConfig, launcherGpus: (argv: readonly string[]) => number | undefined = () => undefined): ResourceEstimate {
  if (!isExternal(c)) {
    const samples = c.spatial.train_size + (c.dataset_size ?? localRows(c.dataset_path) ?? 0)
    return {gpus: 0, gpuMemoryGiB: 0, cpus: 2, memoryGiB: 4, work: {samples, epochs: c.num_train_epochs, notes: 'built-in compact VLM (TensorFlow.js)'}}
  }
  const w = workload(c)
  const g = externalGpus(c, launcherGpus)
  // the recipe's learning rate goes with its launcher's GPU count
  if (w && g.gpusFixed) w.lr_tuned_for_gpus = g.gpus
  if (!w) return {...g, gpuMemoryGiB: 24, cpus: 8 * g.gpus, memoryGiB: 32 * g.gpus}
  // host memory: the weights twice (loading, saving) plus data loading
  const hostGiB = Math.ceil(((w.model.params_b * 2e9) / 2 ** 30) * 2 + 8)
  return {...g, gpuMemoryGiB: gpuMemoryGiB(w), cpus: 8 * g.gpus, memoryGiB: hostGiB * g.gpus, work: {samples: w.samples, epochs: c.num_train_epochs}, workload: w}
}
