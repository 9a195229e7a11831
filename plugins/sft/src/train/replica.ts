/**
 * The sft kind's replica recipe (`builtin.workers` > 1): a worker thread rebuilds the run's training
 * data, model and SFT or DPO task from plain arguments (config, frame layout, tokenizer, model config,
 * and DPO's frozen reference as safetensors bytes); the trainer then gives it the run's weights.
 */
import * as path from 'node:path'

import type {FormatsCore, ModelConfig, ReplicaFactory, ReplicaSpec, TrainerCore} from '@rfm/plugin-api'

import type {SftConfig} from '../config'
import {openVqaDataset} from '../dataset'
import {DpoTask} from './dpo-task'
import type {FrameLayout} from './encode'
import {robotSource} from './robot'
import {SftTask} from './sft-task'
import {concatSources, spatialSource} from './sources'
import type {ItemSource, Vlm} from './types'

export const LORA_TARGETS = ['q', 'k', 'v', 'o', 'fc1', 'fc2']
// the compact VLM's vocabulary is fit here, so its embeddings and LM head must train under LoRA too;
// so must the prompt FiLM, which starts as the identity
export const LORA_MODULES_TO_SAVE = ['text.embed', 'heads.lm', 'vision.film']

export function loraOf(c: SftConfig) {
  return c.lora_rank > 0 ? {rank: c.lora_rank, alpha: c.lora_alpha, dropout: 0, targetModules: LORA_TARGETS, modulesToSave: LORA_MODULES_TO_SAVE} : undefined
}

/** Training and held-out samples: robot VQA datasets and generated spatial scenes (a pure function of the config). */
export async function dataSources(loadFormats: () => Promise<FormatsCore>, trainer: TrainerCore, c: SftConfig, imageSize: number): Promise<{train: ItemSource; eval?: ItemSource}> {
  const robot = async (dir: string | null, limit?: number) => {
    if (!dir) return undefined
    const formats = await loadFormats()
    const images = {
      resize: (frame: Float32Array, width: number, height: number, size: number) => formats.imageToFloat(formats.resizeImage(formats.floatToImage(frame, width, height), size, size)),
    }
    return robotSource(await openVqaDataset(dir, formats), imageSize, images, limit)
  }
  const s = c.spatial
  const spatial = (offset: number, size: number) => (size > 0 ? spatialSource(trainer, {seed: s.seed, offset, size, imageSize, tasks: s.tasks, maxObjects: s.max_objects}) : undefined)
  // --max-samples N: a quick validation run on at most N samples of each source
  const cap = (n: number | undefined) => (c.max_samples === undefined ? n : Math.min(n ?? Infinity, c.max_samples))
  const train = [await robot(c.dataset_path, cap(c.builtin.max_train_samples)), spatial(0, cap(s.train_size)!)].filter((x): x is ItemSource => x !== undefined)
  const held = [await robot(c.eval_dataset_path, cap(c.builtin.max_eval_samples)), spatial(s.train_size, s.train_size > 0 ? cap(s.eval_size)! : 0)].filter((x): x is ItemSource => x !== undefined)
  return {train: concatSources(train), eval: held.length > 0 ? concatSources(held) : undefined}
}

export interface SftReplicaArgs {
  config: SftConfig
  layout: FrameLayout
  tokenizer: Record<string, unknown>
  modelConfig: ModelConfig
  /** DPO: the frozen reference (SFT weights, adapters folded in) */
  reference?: Uint8Array
}

export function sftReplicaSpec(args: SftReplicaArgs): ReplicaSpec {
  return {module: path.join(__dirname, 'replica.js'), export: 'sftReplica', args}
}

export const sftReplica: ReplicaFactory<SftReplicaArgs, Vlm> = async (args, {backend, trainer, loadFormats}) => {
  const c = args.config
  const {train} = await dataSources(loadFormats, trainer, c, args.layout.imageSize)
  const tokenizer = trainer.tokenizerFromJSON(args.tokenizer)
  const model = new trainer.Vlm(backend.tf, args.modelConfig, new trainer.Rng(c.seed), loraOf(c))
  if (c.stage !== 'dpo') return {model, task: new SftTask(trainer, tokenizer, model, train, args.layout)}
  if (!args.reference) throw new Error('sft replica: a DPO run needs its reference weights')
  // the worker lives as long as the run: the reference is disposed with the thread
  const reference = new trainer.Vlm(backend.tf, args.modelConfig, new trainer.Rng(c.seed))
  reference.store.load(trainer.decodeSafetensors(args.reference).tensors)
  return {model, task: new DpoTask(trainer, tokenizer, reference, train, args.layout, c.beta, c.rpo_alpha, args.modelConfig.contextLength)}
}
