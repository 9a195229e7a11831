/**
 * Seed 003's nested config layout (configs/{sft,dpo,grpo}_config.yaml): `model: {name, use_lora,
 * use_4bit, lora: {r, alpha, dropout}}`, `training: {num_epochs, batch_size,
 * gradient_accumulation_steps, learning_rate, gradient_checkpointing}`, `hardware: {bf16, use_vllm,
 * vllm_gpu_memory_utilization}`. The blocks are kept as written (a config-file script gets them back
 * in its YAML) and mapped onto the flat keys the built-in trainer and the planner read.
 */
import type {PluginApi} from '@rfm/plugin-api'

export const SEED_BLOCKS = ['model', 'training', 'hardware'] as const

export function seedBlockSchemas(z: PluginApi['z']) {
  const block = (what: string) => z.record(z.unknown()).optional().describe(`Seed 003's ${what} block, as in its configs/*_config.yaml (mapped onto the flat keys).`)
  return {
    model: block('model: {name, use_lora, use_4bit, lora: {r, alpha, dropout}}'),
    training: block('training: {num_epochs, batch_size, gradient_accumulation_steps, learning_rate, gradient_checkpointing}'),
    hardware: block('hardware: {bf16, use_vllm, vllm_gpu_memory_utilization}'),
  }
}

type Blocks = {model?: Record<string, unknown>; training?: Record<string, unknown>; hardware?: Record<string, unknown>}

/** The flat sft keys the nested blocks stand for (only those the blocks give). */
export function flatFromSeedBlocks(api: Pick<PluginApi, 'external'>, c: Blocks): Record<string, unknown> {
  const m = c.model ?? {}
  const lora = (m.lora ?? {}) as Record<string, unknown>
  const model: Record<string, unknown> = {
    model_name: m.name,
    lora_rank: m.use_lora === false ? 0 : m.use_lora === true ? (lora.r ?? 16) : undefined,
    lora_alpha: lora.alpha,
    quantization: m.use_4bit,
  }
  return {...Object.fromEntries(Object.entries(model).filter(([, v]) => v !== undefined)), ...api.external.hfKeysFromSeedBlocks(c)}
}
