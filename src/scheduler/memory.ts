/**
 * GPU memory per device for a workload: weights + gradient/optimizer state of the trainable
 * parameters + a reference model (GRPO/DPO without LoRA) + activations + a fixed CUDA overhead.
 *
 * Four constants are fitted to the published table for Qwen3-VL-4B (seed 000, "Memory (Qwen3-VL-4B
 * per GPU)": full ≈ 40 GB, + frozen vision ≈ 25, + LoRA r=16 ≈ 20, + 4-bit ≈ 15) at the guide's
 * default batch (per_device_train_batch_size 4, 1 image, 1024 text tokens); GB are read as GiB.
 * Four figures, four unknowns, so that fit is exact by construction; the out-of-sample check is the
 * 7B GRPO figure of seed 001 (24 GB GPU → batch 2 × accumulation 8), see test/scheduler-estimators.
 * The fitted optimizer bytes (≈1.5 B per trainable parameter) are far below textbook AdamW (12–16 B):
 * the table implies 8-bit/paged optimizers and offload. Trainers that keep full Adam state on the
 * GPU should set `optimizer_bytes_per_param: 14` in the workload (2 B bf16 gradient + 12 B fp32
 * Adam master weight, momentum and variance: K = 12 in Rajbhandari et al., "ZeRO: Memory
 * Optimizations Toward Training Trillion Parameter Models", SC'20, §3.1).
 *
 * Sharding follows the same paper's §5: ZeRO-2 (P_os+g) keeps the weights whole and splits gradients
 * and optimizer state over the N data-parallel GPUs, 2Ψ + 14Ψ/N; ZeRO-3 (P_os+g+p) splits the weights
 * too, 16Ψ/N, and gathers at most stage3_max_live_parameters (DeepSpeed's default 1e9) at a time.
 * Gradient checkpointing, when the workload names the architecture, follows Korthikanti et al.,
 * "Reducing Activation Recomputation in Large Transformer Models" (2022), §4: a transformer layer
 * stores s·b·h·34 bytes of activations (the 5·a·s²·b attention-score term is not materialised with
 * flash attention); with full recomputation only each layer's bf16 input (2·s·b·h bytes) is kept, and
 * one layer's activations are rebuilt at a time in the backward pass.
 */
import type {Workload} from './workload'

const GIB = 2 ** 30
/** bytes for 1e9 parameters → GiB */
const gib = (paramsB: number, bytesPerParam: number) => (paramsB * 1e9 * bytesPerParam) / GIB

export const MEMORY_CONSTANTS = {
  /** CUDA context, allocator reserve, kernels. */
  overheadGiB: 1.5,
  /** bf16 weights. */
  weightBytes: 2,
  /** 4-bit LLM weights incl. quantisation constants and the unquantised embeddings (fitted). */
  weight4bitBytes: 0.665,
  /** Gradients + optimizer state per trainable parameter, full or frozen-vision training (fitted). */
  optimizerBytes: 1.466,
  /** LoRA adapters are trained in fp32: weight 4 + gradient 4 + Adam 8. */
  loraBytes: 16,
  /** LoRA parameters per rank as a share of the LLM's (all linear layers; Qwen3-4B: 2.06M per rank). */
  loraSharePerRank: 5.15e-4,
  /** LLM activations, GiB per (1000 tokens × 1e9 LLM params × sequence) (fitted). */
  llmActivationGiB: 0.473,
  /** Vision-tower activations when it is trained, GiB per (frame × 1e9 vision params × sequence) (fitted). */
  visionActivationGiB: 8.59,
  /** Activation bytes per token × hidden of one transformer layer (Korthikanti et al. §4, flash attention). */
  layerActivationBytes: 34,
  /** Bytes per token × hidden a checkpointed layer keeps: its bf16 input. */
  checkpointBytes: 2,
  /** DeepSpeed ZeRO-3's stage3_max_live_parameters default: parameters gathered at once. */
  zero3LiveParamsB: 1,
}

export interface MemoryBreakdown {
  weightsGiB: number
  optimizerGiB: number
  referenceModelGiB: number
  activationsGiB: number
  overheadGiB: number
  totalGiB: number
}

export function trainableParamsB(w: Workload): number {
  const llm = w.model.params_b - w.model.vision_params_b
  switch (w.method) {
    case 'full':
      return w.model.params_b
    case 'frozen_vision':
      return llm
    case 'lora':
    case 'qlora4':
      return llm * MEMORY_CONSTANTS.loraSharePerRank * w.lora_rank
  }
}

/** Tokens the LLM sees per sequence: text plus the vision tokens of every frame. */
export function tokensPerSequence(w: Workload): number {
  return w.seq_len + w.frames * w.vision_tokens_per_frame
}

/** Per-GPU memory on `gpus` GPUs at `batch` sequences per device (default: the workload's). */
export function estimateMemory(w: Workload, gpus = 1, batch = w.per_device_train_batch_size): MemoryBreakdown {
  const k = MEMORY_CONSTANTS
  const {params_b: total, vision_params_b: vision} = w.model
  const llm = total - vision
  const weightsGiB = w.method === 'qlora4' ? gib(vision, k.weightBytes) + gib(llm, k.weight4bitBytes) : gib(total, k.weightBytes)
  const adapter = w.method === 'lora' || w.method === 'qlora4'
  const optimizerGiB = gib(trainableParamsB(w), adapter ? k.loraBytes : (w.optimizer_bytes_per_param ?? k.optimizerBytes))
  // GRPO and DPO compare against a frozen reference policy; with LoRA it is the base model with the
  // adapters switched off, so only full and frozen-vision training hold a second copy.
  const needsReference = (w.kind === 'grpo' || w.kind === 'dpo') && !adapter
  const referenceModelGiB = needsReference ? gib(total, k.weightBytes) : 0
  // DPO and reward models push a chosen and a rejected sequence per sample.
  const pair = w.kind === 'dpo' || w.kind === 'rm' ? 2 : 1
  const activationsGiB = activations(w, batch * pair)
  // ZeRO-2 splits gradients + optimizer state over the GPUs; ZeRO-3 / FSDP the weights too, and
  // gathers up to stage3_max_live_parameters of them (bf16) for the layer being computed.
  const stateShard = w.sharding === 'none' ? 1 : gpus
  const weightShard = w.sharding === 'zero3' ? gpus : 1
  const gathered = w.sharding === 'zero3' && gpus > 1 ? gib(Math.min(k.zero3LiveParamsB, total), k.weightBytes) : 0
  const parts = {
    weightsGiB: weightsGiB / weightShard + gathered,
    optimizerGiB: optimizerGiB / stateShard,
    referenceModelGiB: referenceModelGiB / weightShard,
    activationsGiB,
    overheadGiB: k.overheadGiB,
  }
  return {...parts, totalGiB: Object.values(parts).reduce((a, b) => a + b, 0)}
}

/** Activations of `sequences` sequences per GPU (batch × 2 for chosen/rejected pairs). */
function activations(w: Workload, sequences: number): number {
  const k = MEMORY_CONSTANTS
  const {params_b: total, vision_params_b: vision, layers, hidden_size: hidden} = w.model
  const llm = total - vision
  const trainVision = w.method === 'full'
  if (w.gradient_checkpointing && layers && hidden) {
    // Korthikanti et al. §4: each layer keeps its input, one layer at a time is recomputed.
    const perToken = (l: number, h: number) => h * (k.checkpointBytes * l + k.layerActivationBytes)
    let bytes = tokensPerSequence(w) * sequences * perToken(layers, hidden)
    const {vision_layers: vl, vision_hidden_size: vh, vision_patches_per_token: merge} = w.model
    // A frozen vision tower runs without autograd: nothing of it is stored for the backward pass.
    if (trainVision && vl && vh) bytes += w.frames * w.vision_tokens_per_frame * merge * sequences * perToken(vl, vh)
    else if (trainVision) bytes += k.visionActivationGiB * w.frames * vision * sequences * GIB
    return bytes / GIB
  }
  let gibs = k.llmActivationGiB * (tokensPerSequence(w) / 1000) * llm * sequences
  if (trainVision) gibs += k.visionActivationGiB * w.frames * vision * sequences
  return gibs
}

export interface BatchFit {
  per_device_train_batch_size: number
  gradient_accumulation_steps: number
  memoryGiB: number
  /** true when the batch had to shrink to fit memory */
  reduced: boolean
}

/**
 * The largest per-device batch (halving from the workload's) that fits `gpuMemoryGiB`, with the
 * gradient accumulation raised to keep the effective batch the workload was tuned for (the
 * guides' advice for out-of-memory: smaller batch, more accumulation). undefined if even 1 fails.
 */
export function fitBatch(w: Workload, gpuMemoryGiB: number, gpus = 1): BatchFit | undefined {
  const target = w.per_device_train_batch_size * w.gradient_accumulation_steps * w.lr_tuned_for_gpus
  // On many GPUs the tuned effective batch may leave less than the workload's batch per device.
  const start = Math.max(1, Math.min(w.per_device_train_batch_size, Math.floor(target / gpus)))
  for (let batch = start; batch >= 1; batch = batch === 1 ? 0 : Math.max(1, Math.floor(batch / 2))) {
    const memory = estimateMemory(w, gpus, batch).totalGiB
    if (memory <= gpuMemoryGiB) {
      const accumulation = Math.max(1, Math.round(target / (batch * gpus)))
      return {per_device_train_batch_size: batch, gradient_accumulation_steps: accumulation, memoryGiB: memory, reduced: batch < start}
    }
  }
  return undefined
}

/** Host memory the instance needs: the weights twice (loading, saving) plus data loading. */
export function hostMemoryGiB(w: Workload): number {
  return gib(w.model.params_b, 2) * 2 + 8
}

/** Bytes of one checkpoint: the model (or adapters) plus fp32 Adam moments of the trainable part. */
export function checkpointGiB(w: Workload): number {
  const trainable = trainableParamsB(w)
  const adapter = w.method === 'lora' || w.method === 'qlora4'
  return (adapter ? gib(trainable, 4) : gib(w.model.params_b, 2)) + gib(trainable, 8)
}
