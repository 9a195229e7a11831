/** The model-level workload description the scheduler sizes GPUs from (input of src/scheduler/workload.ts's schema; src/plugin-api/conformance.ts checks). */
export interface WorkloadInput {
  /** A label for the workload, shown in the plan. */
  name?: string
  kind?: 'sft' | 'dpo' | 'grpo' | 'rm' | 'vla'
  model: {
    name?: string
    /** total parameters, billions (vision tower included) */
    params_b: number
    vision_params_b?: number
    layers?: number
    hidden_size?: number
    vision_layers?: number
    vision_hidden_size?: number
    vision_patches_per_token?: number
  }
  method?: 'full' | 'frozen_vision' | 'lora' | 'qlora4'
  lora_rank?: number
  sharding?: 'none' | 'zero2' | 'zero3'
  gradient_checkpointing?: boolean
  optimizer_bytes_per_param?: number
  per_device_train_batch_size?: number
  gradient_accumulation_steps?: number
  seq_len?: number
  frames?: number
  vision_tokens_per_frame?: number
  /** training samples (prompts for GRPO) per epoch */
  samples: number
  epochs?: number
  num_generations?: number
  unsloth?: boolean
  learning_rate?: number
  lr_tuned_for_gpus?: number
  save_steps?: number
  save_on_sigterm?: boolean
}
