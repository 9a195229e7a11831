/**
 * Compute hours of a workload on n GPUs of one model: work (sequences through the model, scaled
 * by model size and tokens) ÷ throughput.
 *
 * Calibrated against the published speed table (seed 000, "Speed (Qwen3-VL-4B, 43k samples,
 * 1 epoch)": 1 GPU ~12 h, + Unsloth ~5 h, 2 GPUs ~3 h, 2 + Unsloth ~1.5 h, 4 GPUs ~1.5 h,
 * 4 + Unsloth ~45 min). The table does not name its GPU; rfm assumes an A100 (the reference of
 * the catalog's relativeThroughput) and full fine-tuning (its "Basic" command has no LoRA flag).
 * The table's multi-GPU rows are twice as efficient per GPU as its single-GPU row (3 h × 2 GPUs
 * = 6 GPU-hours against 12); rfm keeps that as `dataParallelGain` rather than contradict the
 * figures users will compare against, and scales linearly from 2 to 4 GPUs as the table does.
 */
import type {GpuModel} from './catalog'
import {tokensPerSequence} from './memory'
import type {Method, Workload} from './workload'

export const RUNTIME_CONSTANTS = {
  /** Reference: Qwen3-VL-4B full fine-tune on one A100, 43k samples in 12 h. */
  referenceSequencesPerHour: 43_000 / 12,
  referenceParamsB: 4.44,
  /** 1024 text tokens + one image of 256 vision tokens (the memory model's reference too). */
  referenceTokens: 1280,
  /** Fitted: the table's Unsloth gains are 2.4× (1 GPU), 2.0× (2), 2.0× (4); geometric mean. */
  unslothSpeedup: 2.2,
  /** Fitted: per-GPU throughput of a data-parallel run (n ≥ 2) relative to one GPU. */
  dataParallelGain: 2.0,
  /** Assumed loss per doubling beyond the table's 4 GPUs (NVLink within one instance). */
  scalingEfficiencyPerDoublingBeyond4: 0.9,
  /**
   * Assumed cost of a sequence relative to full fine-tuning: LoRA skips weight gradients of the
   * frozen base (backward ≈ half), 4-bit adds dequantisation, frozen vision skips its backward.
   */
  methodCost: {full: 1, frozen_vision: 0.9, lora: 0.7, qlora4: 0.85} satisfies Record<Method, number>,
  /** Assumed cost of generating one GRPO completion relative to training on it (no vLLM). */
  grpoGenerationCost: 2,
}

/** Sequence-equivalents of training work: GRPO generates and trains every completion. */
export function workSequences(w: Workload): number {
  const k = RUNTIME_CONSTANTS
  const perSample = w.kind === 'grpo' ? w.num_generations * (1 + k.grpoGenerationCost) : w.kind === 'dpo' || w.kind === 'rm' ? 2 : 1
  return w.samples * w.epochs * perSample
}

/** Speed-up of n GPUs over one, as the calibration implies. */
export function dataParallelSpeedup(gpus: number): number {
  const k = RUNTIME_CONSTANTS
  if (gpus <= 1) return 1
  const beyond = Math.max(0, Math.log2(gpus / 4))
  return gpus * k.dataParallelGain * k.scalingEfficiencyPerDoublingBeyond4 ** beyond
}

/** Sequences per hour on the whole instance. */
export function throughputPerHour(w: Workload, gpu: GpuModel, gpus: number): number {
  const k = RUNTIME_CONSTANTS
  const size = (w.model.params_b / k.referenceParamsB) * (tokensPerSequence(w) / k.referenceTokens)
  const perGpu = (k.referenceSequencesPerHour * gpu.relativeThroughput * (w.unsloth ? k.unslothSpeedup : 1)) / (size * k.methodCost[w.method])
  return perGpu * dataParallelSpeedup(gpus)
}

export function computeHours(w: Workload, gpu: GpuModel, gpus: number): number {
  return workSequences(w) / throughputPerHour(w, gpu, gpus)
}
