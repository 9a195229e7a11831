/**
 * Size presets of the pipeline's models (Qwen2.5-VL 3B/7B/32B/72B, MiMo-VL 7B) and what they mean
 * for the scheduler: the workload it sizes GPUs from, and the machine a Batch job asks for.
 * Parameter counts are the published model sizes (vision tower included); the vision tower of both
 * families is the ≈0.67B Qwen2.5-ViT. Layers and hidden sizes are the models' config.json values
 * (num_hidden_layers, hidden_size; vision_config depth 32, hidden_size 1280, spatial_merge_size 2);
 * MiMo-VL-7B's LLM is MiMo-7B (a Qwen2 architecture, 36 × 4096).
 */
import type {ResourceEstimate, WorkloadInput} from '@rfm/plugin-api'

export const SIZES = ['3B', '7B', '32B', '72B'] as const
export type Size = (typeof SIZES)[number]
export const FAMILIES = ['qwen2.5-vl', 'mimo-vl'] as const
export type Family = (typeof FAMILIES)[number]

export interface Preset {
  family: Family
  size: Size
  name: string
  paramsB: number
  visionParamsB: number
  /** GPUs the pipeline's configs for this size are written for (run_distributed.sh --gpus) */
  gpus: number
  /** whether the size needs ZeRO-3 sharding to fit 80 GB GPUs with full fine-tuning */
  zero3: boolean
  layers: number
  hidden: number
}

/** Qwen2.5-ViT, shared by both families: 32 blocks of 1280, 2×2 patches per LLM token. */
const VIT = {vision_layers: 32, vision_hidden_size: 1280, vision_patches_per_token: 4}

const PRESETS: Preset[] = [
  {family: 'qwen2.5-vl', size: '3B', name: 'Qwen2.5-VL-3B-Instruct', paramsB: 3.75, visionParamsB: 0.67, gpus: 4, zero3: false, layers: 36, hidden: 2048},
  {family: 'qwen2.5-vl', size: '7B', name: 'Qwen2.5-VL-7B-Instruct', paramsB: 8.29, visionParamsB: 0.67, gpus: 8, zero3: false, layers: 28, hidden: 3584},
  {family: 'qwen2.5-vl', size: '32B', name: 'Qwen2.5-VL-32B-Instruct', paramsB: 33.5, visionParamsB: 0.67, gpus: 8, zero3: true, layers: 64, hidden: 5120},
  {family: 'qwen2.5-vl', size: '72B', name: 'Qwen2.5-VL-72B-Instruct', paramsB: 73.4, visionParamsB: 0.67, gpus: 8, zero3: true, layers: 80, hidden: 8192},
  {family: 'mimo-vl', size: '7B', name: 'MiMo-VL-7B', paramsB: 8.31, visionParamsB: 0.67, gpus: 8, zero3: false, layers: 36, hidden: 4096},
]

export function presetNames(): string[] {
  return PRESETS.map((p) => `${p.family}/${p.size}`)
}

/**
 * The preset for a model: `size`/`family` when given ('auto' otherwise), else read from the model
 * name or path (…Qwen2.5-VL-7B…, …mimo7b…, …72b…). undefined when nothing matches.
 */
export function findPreset(model: string, size: Size | 'auto' = 'auto', family: Family | 'auto' = 'auto'): Preset | undefined {
  const name = model.toLowerCase()
  const fam: Family = family !== 'auto' ? family : /mimo/.test(name) ? 'mimo-vl' : 'qwen2.5-vl'
  let sz: string | undefined = size !== 'auto' ? size : undefined
  if (!sz) {
    // the last path part first: '/runs/3b-old/qwen2.5-vl-7b' is a 7B
    const m = SIZE_IN_NAME.exec(name.replace(/\/+$/, '').split('/').pop() ?? '') ?? SIZE_IN_NAME.exec(name)
    sz = m ? `${m[1]}B` : undefined
  }
  return PRESETS.find((p) => p.family === fam && p.size === sz)
}

const SIZE_IN_NAME = /(?:^|[^\d.])(3|7|32|72)b(?![a-z])/

/** The knobs of a config an estimate reads (pipeline keys; all optional, as recorded). */
export interface EstimateInput {
  model_name_or_path?: string
  freeze_vit?: boolean
  deepspeed?: string | null
  gradient_checkpointing?: boolean
  per_device_train_batch_size?: number
  gradient_accumulation_steps?: number
  max_seq_length?: number
  max_pixels?: number
  max_train_samples?: number | null
  num_train_epochs?: number
  learning_rate?: number
  save_steps?: number
  external?: {preset?: Size | 'auto'; family?: Family | 'auto'; gpus?: number; train_samples?: number}
}

/** Qwen2.5-VL merges 2×2 patches of 14 px: one vision token per 28×28 pixels. */
const PIXELS_PER_TOKEN = 28 * 28

/** The scheduler's workload for an external-mode training run on `preset`. */
export function workloadFor(c: EstimateInput, preset: Preset, gpus: number): WorkloadInput {
  // the deepspeed file's name says the stage (zero2.json, ds_zero3.json); a size that needs ZeRO-3
  // gets it when the config names no file
  const zero3 = /zero_?3/i.test(c.deepspeed ?? '') || (preset.zero3 && !c.deepspeed)
  const zero2 = /zero_?2/i.test(c.deepspeed ?? '')
  return {
    name: `rm-eval ${preset.name}`,
    kind: 'rm',
    model: {name: preset.name, params_b: preset.paramsB, vision_params_b: preset.visionParamsB, layers: preset.layers, hidden_size: preset.hidden, ...VIT},
    method: c.freeze_vit ? 'frozen_vision' : 'full',
    sharding: zero3 ? 'zero3' : zero2 ? 'zero2' : 'none',
    gradient_checkpointing: c.gradient_checkpointing ?? false,
    // bf16 AdamW as TRL's RewardTrainer runs it: 2 B gradient + 12 B fp32 master/m/v per trainable
    // parameter (ZeRO paper §3.1, K = 12), not the 8-bit optimizers seed 000's table implies
    optimizer_bytes_per_param: 14,
    per_device_train_batch_size: c.per_device_train_batch_size ?? 1,
    gradient_accumulation_steps: c.gradient_accumulation_steps ?? 8,
    seq_len: c.max_seq_length ?? 3072,
    frames: 1,
    vision_tokens_per_frame: Math.max(1, Math.floor((c.max_pixels ?? 1_605_632) / PIXELS_PER_TOKEN)),
    samples: c.max_train_samples ?? c.external?.train_samples ?? 30_000,
    epochs: c.num_train_epochs ?? 3,
    ...(c.learning_rate ? {learning_rate: c.learning_rate} : {}),
    lr_tuned_for_gpus: gpus,
    ...(c.save_steps ? {save_steps: c.save_steps} : {}),
  }
}

/**
 * Resources of an external-mode job: the preset's GPUs (or external.gpus), 10 vCPUs and the model
 * twice in host memory (loading, saving) plus 16 GiB per GPU for data loading. gpuMemoryGiB is the
 * 80 GB class the pipeline's configs are written for; the scheduler sizes the exact need from the
 * workload (rfm cloud plan rm-eval -c CONFIG).
 */
export function externalEstimate(c: EstimateInput, preset: Preset): ResourceEstimate {
  const gpus = c.external?.gpus ?? preset.gpus
  const weightsGiB = (preset.paramsB * 1e9 * 2) / 2 ** 30
  return {
    gpus,
    gpuMemoryGiB: 80,
    cpus: 10 * gpus,
    memoryGiB: Math.ceil(2 * weightsGiB + 16 * gpus),
    work: {samples: c.max_train_samples ?? c.external?.train_samples ?? 30_000, epochs: c.num_train_epochs ?? 3, notes: `${preset.name}, ${gpus} GPU(s)`},
    workload: workloadFor(c, preset, gpus),
  }
}
