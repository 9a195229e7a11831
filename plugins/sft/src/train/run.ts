/**
 * The sft kind's built-in trainer: SFT or DPO of the compact VLM on robot-reward VQA and generated
 * spatial scenes, through the trainer core's loop (AdamW, cosine with warmup, LoRA, exact resume).
 *
 * Where the model starts: this run's newest checkpoint (a retry resumes exactly) › resume_from_checkpoint
 * (another run's checkpoint, a step of this run, or a pulled folder: weights, optimizer and position) ›
 * DPO: the SFT checkpoint (policy and frozen reference) › a fresh model. Every checkpoint also holds
 * `sft_layout.json` (frames, LoRA) and, for DPO, `reference.safetensors`, so a DPO run resumes
 * without its SFT run.
 */
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import * as path from 'node:path'

import type {CheckpointFiles, CheckpointIO, ModelConfig, PluginApi, SavedCheckpoint, TrainerContext, TrainResult} from '@rfm/plugin-api'

import {checkBuiltin, reportTargets, SftConfig} from '../config'
import {DpoTask} from './dpo-task'
import {FrameLayout, slots} from './encode'
import {evalItems} from './evaluate'
import {dataSources, LORA_MODULES_TO_SAVE, LORA_TARGETS, loraOf, sftReplicaSpec} from './replica'
import {SftTask} from './sft-task'
import {spaced} from './text'
import type {ItemSource, TrainerModule, Vlm} from './types'

type Tensors = ReturnType<TrainerModule['decodeSafetensors']>['tensors']
type SafeTensor = Tensors[string]

function toFloat32(t: SafeTensor): Float32Array {
  if (t.dtype !== 'F32') throw new Error(`expected an F32 tensor, got ${t.dtype}`)
  const out = new Float32Array(t.bytes.byteLength / 4)
  new Uint8Array(out.buffer).set(t.bytes)
  return out
}

function f32(shape: number[], values: Float32Array): SafeTensor {
  return {dtype: 'F32', shape, bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength)}
}

/** Written into every checkpoint: what a later DPO stage or a resume needs to rebuild the model. */
export interface SftLayout extends FrameLayout {
  stage: 'sft' | 'dpo'
  lora: {rank: number; alpha: number}
}

function json<T>(files: CheckpointFiles, name: string): T | undefined {
  return files[name] ? (JSON.parse(Buffer.from(files[name]).toString('utf8')) as T) : undefined
}

/** A checkpoint folder as `rfm ckpt pull` writes it (files + trainer_state.json). */
export function readCheckpointFolder(dir: string): SavedCheckpoint {
  const files: CheckpointFiles = {}
  for (const name of readdirSync(dir)) if (statSync(path.join(dir, name)).isFile() && name !== 'trainer_state.json') files[name] = readFileSync(path.join(dir, name))
  const statePath = path.join(dir, 'trainer_state.json')
  if (!files['model.safetensors'] || !existsSync(statePath)) throw new Error(`${dir} is not a checkpoint of the built-in trainer (model.safetensors and trainer_state.json expected)`)
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as Record<string, unknown>
  return {step: Number(state.global_step ?? 0), files, state}
}

async function loadRef(ctx: TrainerContext, ref: string | number, what: string): Promise<SavedCheckpoint> {
  if (typeof ref === 'string' && existsSync(ref) && statSync(ref).isDirectory()) return readCheckpointFolder(ref)
  const name = typeof ref === 'number' ? `${ctx.runId}@${ref}` : ref
  if (!ctx.loadRunCheckpoint) throw new Error(`${what} ${name}: this runtime cannot read other runs' checkpoints`)
  return ctx.loadRunCheckpoint(name)
}

/** W + A·B·(alpha/rank) for every adapted module, adapters dropped: the SFT model as plain weights. */
export function foldAdapters(tensors: Tensors, lora: {rank: number; alpha: number}): Tensors {
  const out: Tensors = {}
  const scale = lora.rank > 0 ? lora.alpha / lora.rank : 0
  for (const [name, t] of Object.entries(tensors)) {
    if (name.endsWith('.lora_A') || name.endsWith('.lora_B')) continue
    const module = name.replace(/\.weight$/, '')
    const a = tensors[`${module}.lora_A`]
    if (!name.endsWith('.weight') || !a) {
      out[name] = t
      continue
    }
    const w = toFloat32(t)
    const av = toFloat32(a)
    const bv = toFloat32(tensors[`${module}.lora_B`])
    const [inDim, outDim] = t.shape
    const r = a.shape[1]
    for (let i = 0; i < inDim; i++)
      for (let o = 0; o < outDim; o++) {
        let s = 0
        for (let k = 0; k < r; k++) s += av[i * r + k] * bv[k * outDim + o]
        w[i * outDim + o] += s * scale
      }
    out[name] = f32(t.shape, w)
  }
  return out
}

/** Assigns the tensors the model has by name (a LoRA policy keeps its fresh adapters). */
function assignByName(model: Vlm, tensors: Tensors): void {
  for (const name of model.store.names()) {
    const t = tensors[name]
    if (!t) continue
    const v = model.store.get(name)
    if (t.shape.join(',') !== v.shape.join(',')) throw new Error(`parameter ${name}: SFT checkpoint shape [${t.shape}] ≠ model [${v.shape}]`)
    model.tf.tidy(() => v.assign(model.tf.tensor(toFloat32(t), v.shape, 'float32')))
  }
}

/**
 * The JSON answer format of the GRPO stage (pipeline 003's SFT → DPO → GRPO chain), spaced as grpo
 * writes it: in the vocabulary so a model started from this one can spell `{ "reasoning_steps" : [ … ] ,
 * "answer" : " … " }` (without it every format reward is structurally 0).
 */
export const GRPO_FORMAT_WORDS = '{ "reasoning_steps" : [ ] , "answer" : " } \' reply as json {"reasoning_steps": [...], "answer": "..."}'

/** The word vocabulary of a fresh model: every training text as spelled for the model, every digit and answer letter, and GRPO's JSON format. */
export function fitTokenizer(trainer: TrainerModule, train: ItemSource) {
  return trainer.WordTokenizer.fit([...train.texts(), '0 1 2 3 4 5 6 7 8 9 . A B yes no'].map(spaced).concat(GRPO_FORMAT_WORDS))
}

/** The trainer core's keys from the pipeline's (HF TrainingArguments) keys, through the core's one mapping. */
export function trainerKeys(api: Pick<PluginApi, 'trainerConfig'>, c: SftConfig, stepsPerEpoch: number) {
  return api.trainerConfig.fromHfTrainingArgs(
    {...c, ...c.builtin, tensorboard: reportTargets(c).includes('tensorboard')},
    {
      stepsPerEpoch,
      extra: {
        freeze_vision_tower: c.freeze_vision_tower,
        lora: {rank: c.lora_rank, alpha: c.lora_alpha, dropout: 0, target_modules: LORA_TARGETS, modules_to_save: LORA_MODULES_TO_SAVE},
      },
    },
  )
}

export async function trainSft(api: PluginApi, ctx: TrainerContext, c: SftConfig): Promise<TrainResult> {
  for (const note of checkBuiltin(api, c)) ctx.log(note)
  const trainer = await api.loadTrainer()
  const backend = await trainer.selectBackend(c.builtin.backend)
  ctx.log(`trainer backend: ${trainer.describeBackend(backend)}`)
  const tf = backend.tf

  // where the model starts (see the header)
  const own = await ctx.checkpoints.loadLatest()
  let start = own
  if (!start && c.resume_from_checkpoint !== undefined && typeof c.resume_from_checkpoint !== 'boolean') {
    start = await loadRef(ctx, c.resume_from_checkpoint, 'resume_from_checkpoint')
    ctx.log(`resuming from ${c.resume_from_checkpoint} (step ${start.step})`)
  } else if (!start && c.resume_from_checkpoint === true) ctx.log('resume_from_checkpoint: no checkpoint yet, starting at step 0')
  const sft = !start && c.stage === 'dpo' ? await loadRef(ctx, c.sft_checkpoint!, 'sft_checkpoint') : undefined
  if (sft) ctx.log(`DPO from the SFT checkpoint ${c.sft_checkpoint} (step ${sft.step})`)
  const from = start ?? sft
  const fromLayout = from && json<SftLayout>(from.files, 'sft_layout.json')
  if (from && !fromLayout) throw api.configError(start ? 'resume_from_checkpoint' : 'sft_checkpoint', 'that checkpoint was not written by the sft kind (no sft_layout.json)')
  if (fromLayout && start && fromLayout.stage !== c.stage) throw api.configError('stage', `the checkpoint to resume is a ${fromLayout.stage} checkpoint, this run is ${c.stage}`)

  const m = c.builtin.model
  const robot = c.dataset_path !== null || c.eval_dataset_path !== null
  const layout: FrameLayout = fromLayout ?? {framesPerTrajectory: robot ? c.max_frames : 1, twoTrajectories: robot, imageSize: m.image_size}
  if (robot && !layout.twoTrajectories) throw api.configError('dataset_path', 'the SFT model was trained on single images (spatial scenes); robot VQA needs a model trained with dataset_path')

  const {train, eval: held} = await dataSources(() => api.loadFormats(), trainer, c, layout.imageSize)
  const tokenizer = from?.files['tokenizer.json'] ? trainer.tokenizerFromJSON(JSON.parse(Buffer.from(from.files['tokenizer.json']).toString('utf8'))) : fitTokenizer(trainer, train)
  const modelConfig: ModelConfig =
    (from && json<ModelConfig>(from.files, 'model_config.json')) ??
    trainer.builtinModelConfig(m, tokenizer.vocabSize, ['lm'], {frames: slots(layout), promptFilm: m.prompt_film, linearInit: m.linear_init})
  const model = new trainer.Vlm(tf, modelConfig, new trainer.Rng(c.seed), loraOf(c))
  let reference: Vlm | undefined
  let referenceBytes: Uint8Array | undefined
  try {
    if (c.stage === 'dpo') {
      // the frozen reference: the SFT model, adapters folded in; kept in every DPO checkpoint
      referenceBytes = start ? start.files['reference.safetensors'] : trainer.encodeSafetensors(foldAdapters(trainer.decodeSafetensors(sft!.files['model.safetensors']).tensors, fromLayout!.lora))
      if (!referenceBytes) throw new Error('the DPO checkpoint lacks reference.safetensors')
      reference = new trainer.Vlm(tf, modelConfig, new trainer.Rng(c.seed))
      const refTensors = trainer.decodeSafetensors(referenceBytes).tensors
      reference.store.load(refTensors)
      // the policy starts as the SFT model (a resumed run loads its own weights over this)
      if (!start) assignByName(model, refTensors)
    }
    const perStep = c.per_device_train_batch_size * c.gradient_accumulation_steps
    const keys = trainerKeys(api, c, Math.max(1, Math.floor(train.size / perStep)))
    const evaluation = {items: evalItems(held), batch: c.per_device_eval_batch_size, maxNewTokens: c.builtin.max_new_tokens}
    const task =
      c.stage === 'dpo'
        ? new DpoTask(trainer, tokenizer, reference!, train, layout, c.beta, c.rpo_alpha, modelConfig.contextLength, evaluation)
        : new SftTask(trainer, tokenizer, model, train, layout, evaluation)

    const saved: SftLayout = {...layout, stage: c.stage, lora: {rank: c.lora_rank, alpha: c.lora_alpha}}
    const extra: CheckpointFiles = {'sft_layout.json': Buffer.from(JSON.stringify(saved)), ...(referenceBytes ? {'reference.safetensors': referenceBytes} : {})}
    const checkpoints: CheckpointIO = {
      save: (step, files, state, options) => ctx.checkpoints.save(step, {...files, ...extra}, state, options),
      loadLatest: async () => start,
    }
    const logMetrics = (step: number, values: Record<string, number>) => {
      const stats = 'loss' in values && task instanceof DpoTask ? task.drainStats() : undefined
      ctx.logMetrics(step, stats ? {...values, ...stats} : values)
    }
    ctx.log(`${c.stage}: ${train.size} training samples, ${evaluation.items.length} held-out; ${slots(layout)} frame slot(s) of ${layout.imageSize}px; ${model.store.count()} parameters`)
    const replica = sftReplicaSpec({config: c, layout, tokenizer: tokenizer.toJSON(), modelConfig, reference: referenceBytes})
    return await trainer.trainWith({...ctx, checkpoints, logMetrics}, {backend, model, task, tokenizer, trainer: keys, replica})
  } finally {
    model.dispose()
    reference?.dispose()
  }
}
