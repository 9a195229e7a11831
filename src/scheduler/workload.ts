/**
 * A training workload described at the model level: what the scheduler needs to estimate GPU
 * memory, runtime and checkpoint size. Plugins build one from their own config in
 * `JobKind.estimate()` (ResourceEstimate.workload); `rfm cloud plan --workload FILE` reads one
 * directly. Field names follow the pipelines' own flags (per_device_train_batch_size, ...).
 */
import {z} from 'zod'

export const METHODS = ['full', 'frozen_vision', 'lora', 'qlora4'] as const
export type Method = (typeof METHODS)[number]

export const workloadSchema = z
  .object({
    name: z.string().optional().describe('A label for the workload, shown in the plan.'),
    kind: z.enum(['sft', 'dpo', 'grpo', 'rm', 'vla']).default('sft').describe('Training algorithm: sft, dpo, grpo, rm (reward model) or vla.'),
    model: z
      .object({
        name: z.string().optional(),
        params_b: z.number().positive().describe('Total parameters, billions (vision tower included).'),
        vision_params_b: z.number().nonnegative().default(0).describe('Parameters of the vision tower, billions.'),
        layers: z.number().int().positive().optional().describe('LLM decoder layers (config.json num_hidden_layers); with hidden_size, sizes activations under gradient checkpointing.'),
        hidden_size: z.number().int().positive().optional().describe('LLM hidden size (config.json hidden_size).'),
        vision_layers: z.number().int().positive().optional().describe('Vision tower blocks (vision_config.depth).'),
        vision_hidden_size: z.number().int().positive().optional().describe('Vision tower hidden size (vision_config.hidden_size).'),
        vision_patches_per_token: z.number().int().positive().default(1).describe('Vision patches merged into one LLM token (Qwen2.5-VL: 2×2 = 4).'),
      })
      .strict(),
    method: z.enum(METHODS).default('lora').describe('full, frozen_vision (train LLM + projector), lora, or qlora4 (LoRA on a 4-bit base).'),
    lora_rank: z.number().int().positive().default(16),
    sharding: z.enum(['none', 'zero2', 'zero3']).default('none').describe('zero2 (DeepSpeed ZeRO-2) splits gradients and optimizer state across the GPUs; zero3 (ZeRO-3 / FSDP) the weights too.'),
    gradient_checkpointing: z
      .boolean()
      .default(false)
      .describe('Activations are recomputed in the backward pass; needs model.layers and model.hidden_size to be counted, otherwise activations are estimated without it.'),
    optimizer_bytes_per_param: z.number().positive().optional().describe('Gradient + optimizer bytes per trainable parameter; default fitted to the published memory table.'),
    per_device_train_batch_size: z.number().int().positive().default(4),
    gradient_accumulation_steps: z.number().int().positive().default(2),
    seq_len: z.number().int().positive().default(1024).describe('Text tokens per sample (prompt + answer or completion).'),
    frames: z.number().int().nonnegative().default(1).describe('Images or video frames per sample.'),
    vision_tokens_per_frame: z.number().int().nonnegative().default(256),
    samples: z.number().int().positive().describe('Training samples (prompts for GRPO) per epoch.'),
    epochs: z.number().positive().default(1),
    num_generations: z.number().int().positive().default(8).describe('GRPO: completions sampled per prompt.'),
    unsloth: z.boolean().default(false).describe("Trains with Unsloth kernels (the guides' 2-5x speed-up)."),
    learning_rate: z.number().positive().optional(),
    lr_tuned_for_gpus: z.number().int().positive().default(1).describe('GPU count the learning rate was chosen for.'),
    save_steps: z.number().int().positive().optional().describe('Current checkpoint interval in optimizer steps, if set.'),
    save_on_sigterm: z
      .boolean()
      .default(false)
      .describe("The trainer saves a checkpoint when it gets SIGTERM (rfm's built-in trainers do; HF transformers' Trainer does not). Only then does a spot notice become a checkpoint in the plan."),
  })
  .strict()

export type Workload = z.output<typeof workloadSchema>
export type WorkloadInput = z.input<typeof workloadSchema>

/** Optimizer steps per epoch at a given GPU count (the pipelines' effective batch rule). */
export function effectiveBatch(w: Pick<Workload, 'per_device_train_batch_size' | 'gradient_accumulation_steps'>, gpus: number): number {
  return w.per_device_train_batch_size * w.gradient_accumulation_steps * gpus
}

/** Sequences per sample that pass through training: GRPO trains on every sampled completion. */
export function sequencesPerSample(w: Workload): number {
  return w.kind === 'grpo' ? w.num_generations : w.kind === 'dpo' || w.kind === 'rm' ? 2 : 1
}

/** Optimizer steps of the whole run. GRPO's per-device batch counts completions, as in TRL. */
export function totalSteps(w: Workload, gpus: number): number {
  const perSample = w.kind === 'grpo' ? w.num_generations : 1
  return Math.max(1, Math.ceil((w.samples * w.epochs * perSample) / effectiveBatch(w, gpus)))
}
