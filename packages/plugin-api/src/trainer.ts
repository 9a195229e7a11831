/**
 * The built-in trainer core as plugins see it (`api.loadTrainer()`): tfjs backends, the compact VLM,
 * tokenizers, the training loop, safetensors and the synthetic spatial tasks. Only what plugins may
 * use is declared; the host's src/trainer satisfies it (src/plugin-api/conformance.ts checks, so a change
 * there that breaks this contract breaks the build).
 */
import type * as tf from '@tensorflow/tfjs-core'

import type {CheckpointFiles} from './checkpoints'
import type {FormatsCore} from './formats'
import type {TrainerConfigKit} from './trainer-config'
import type {TrainerContext} from './trainer-context'
import type {DecodedSafetensors, SafeTensor, SamplingConfig, SpatialSample, SpatialTask, Tokenizer, WordTokenizerClass} from './trainer-data'

export type * from './trainer-data'

export type Tf = typeof tf
export type Tensor = tf.Tensor
export type Variable = tf.Variable

/** A seeded xoshiro128** PRNG; its state (four integers) goes into checkpoints. Never Math.random. */
export type RngState = [number, number, number, number]
export interface Rng {
  state(): RngState
  nextUint32(): number
  /** uniform in [0, 1) */
  next(): number
  int(n: number): number
  /** standard normal */
  normal(): number
  shuffle<T>(items: T[]): T[]
}
export interface RngClass {
  new (seed: number | RngState): Rng
  /** A generator whose stream depends only on this seed and `salt`. */
  derive(seed: number, ...salt: number[]): Rng
}

export type BackendName = 'tensorflow' | 'wasm' | 'cpu'
export type BackendPreference = BackendName | 'auto'
export interface SelectedBackend {
  name: BackendName
  /** which package provides it, e.g. "@tensorflow/tfjs-node-gpu" */
  provider: string
  /** wasm only: worker threads in use */
  threads?: number
  tf: Tf
}

export interface VisionConfig {
  imageSize: number
  channels: number
  patchSize: number
  width: number
  depth: number
  heads: number
  /** images per sample (default 1): video frames or several views */
  frames?: number
  /** the image tokens are modulated by the prompt (FiLM); forward then needs promptLengths */
  promptFilm?: boolean
}
export type HeadKind = 'lm' | 'reward' | 'regression' | 'action'
/** how linear weights start: 'gpt2' N(0, 0.02), 'fan_in' N(0, 1/in) */
export type LinearInit = 'gpt2' | 'fan_in'
export interface ModelConfig {
  vocabSize: number
  width: number
  depth: number
  heads: number
  mlpRatio: number
  /** maximum text tokens */
  contextLength: number
  dropout: number
  vision?: VisionConfig
  outputs: HeadKind[]
  regressionDim?: number
  actionChunk?: number
  actionDim?: number
  linearInit?: LinearInit
}
export interface LoraConfig {
  rank: number
  alpha: number
  dropout: number
  targetModules: string[]
  modulesToSave: string[]
}
export interface ModelInputs {
  /** [B, T] int32 token ids */
  tokens: Tensor
  /** [B, F·P, patch·patch·C] float32 patches (see patchifyHost) */
  patches?: Tensor
  /** [B·F] 1 where a frame slot holds an image, 0 where it is empty */
  frameMask?: number[]
  /** tokens of each row that are prompt */
  promptLengths?: number[]
}
export interface ModelOutputs {
  /** [B, T, V] */
  logits?: Tensor
  /** [B] */
  reward?: Tensor
  /** [B, regressionDim] */
  regression?: Tensor
  /** [B, actionChunk, actionDim] */
  actions?: Tensor
  /** [B, T_total, D] */
  hidden: Tensor
}

/** Named parameters as tfjs variables (Hugging Face-style names; linear weights [in, out]). */
export interface ParamStore {
  readonly tf: Tf
  readonly vars: Map<string, Variable>
  /** how linear weights are initialised: GPT-2's N(0, 0.02) or fan-in N(0, 1/in) */
  readonly linearInit: LinearInit
  linearWeightInit(inDim: number): ParamInit
  add(name: string, shape: number[], init: ParamInit): Variable
  get(name: string): Variable
  has(name: string): boolean
  names(): string[]
  count(names?: string[]): number
  /** every parameter as safetensors-ready F32 tensors (exact bytes) */
  toSafe(): Record<string, SafeTensor>
  /** assigns exact values; every stored parameter must be present with the same shape */
  load(tensors: Record<string, SafeTensor>): void
  /** assigns the stored parameters present in `tensors` (same shape); returns the names assigned */
  loadMatching(tensors: Record<string, SafeTensor>): string[]
  dispose(): void
}
export type ParamInit = {kind: 'normal'; std: number} | {kind: 'zeros'} | {kind: 'ones'}
export type ParamStoreClass = new (tf: Tf, rng: Rng, linearInit?: LinearInit) => ParamStore

/** One forward pass's state for the `nn` layers: the parameters, training mode, dropout RNG. */
export interface Forward {
  store: ParamStore
  training: boolean
  /** RNG for dropout masks; required when training with dropout > 0 */
  rng?: Rng
  lora?: LoraConfig
  /** cached causal masks by sequence length (kept outside tidy) */
  masks: Map<number, Tensor>
  /** how attention's products run; default 'batched' */
  attention?: 'batched' | 'per_head'
}

/** The core's layers (parameters live in a ParamStore under Hugging Face-style names). */
export interface NnLayers {
  defineLinear(store: ParamStore, path: string, inDim: number, outDim: number, lora?: LoraConfig, bias?: boolean): void
  linear(f: Forward, path: string, x: Tensor): Tensor
  dropout(f: Forward, x: Tensor, rate: number): Tensor
  defineLayerNorm(store: ParamStore, path: string, dim: number): void
  layerNorm(f: Forward, path: string, x: Tensor): Tensor
  /** multi-head self-attention over x [B, T, D] (causal or bidirectional; keyMask [B, T] of 0/1) */
  attention(f: Forward, path: string, x: Tensor, heads: number, causal: boolean, keyMask?: Tensor): Tensor
  gelu(tf: Tf, x: Tensor): Tensor
}

/** What the training loop needs of a model: its parameters (the compact VLM, or a plugin's own model). */
export interface TrainableModel {
  store: ParamStore
  config: unknown
  lora?: {rank: number; alpha: number}
  /** only models built from the core's attention have the switch */
  attentionProducts?: 'batched' | 'per_head'
  dispose(): void
}

/** The compact vision-language model. */
export interface Vlm {
  readonly tf: Tf
  readonly config: ModelConfig
  readonly lora?: LoraConfig
  readonly store: ParamStore
  attentionProducts: 'batched' | 'per_head'
  forward(inputs: ModelInputs, training: boolean, rng?: Rng): ModelOutputs
  dispose(): void
}
export type VlmClass = new (tf: Tf, config: ModelConfig, rng: Rng, lora?: LoraConfig) => Vlm

/** What the training loop needs from a task. */
export interface TrainingTask<M extends TrainableModel = Vlm> {
  trainSize: number
  /** scalar loss for these samples, built from tfjs ops on model.forward; `rng` is the run's RNG */
  loss(model: M, indices: number[], rng: Rng): tf.Scalar
  /** held-out metrics, named eval_*; must not use the run's RNG */
  evaluate?(model: M): Record<string, number>
  /**
   * The total weight of these samples in the loss, when the loss is a weighted mean normalised per
   * batch (tokens of a masked cross-entropy, per-sample loss weights): data-parallel shards are then
   * combined by it, so N shards give the one-batch loss. Default: the sample count.
   */
  lossWeight?(indices: number[]): number
  /**
   * Statistics gathered in `loss` (e.g. DPO's rewards) across data-parallel workers: a worker's replica
   * drains its own after each shard (structured-cloneable); the run's task merges them in shard order.
   */
  drainShardStats?(): unknown
  mergeShardStats?(stats: unknown): void
}

/** The built-in trainer's keys (the `trainer` block), validated with defaults. */
export interface TrainerKeys {
  backend: BackendPreference
  workers: 'auto' | number
  /** absent: per_head for a new run on wasm (batched elsewhere), the resumed checkpoint's mode (batched when it records none) */
  attention?: 'batched' | 'per_head'
  seed: number
  max_steps: number
  epochs: number
  batch_size: number
  grad_accum: number
  lr: number
  weight_decay: number
  beta1: number
  beta2: number
  eps: number
  max_grad_norm: number
  param_groups: {name: string; patterns: string[]; lr: number}[]
  freeze: string[]
  freeze_vision_tower: boolean
  lora: {rank: number; alpha: number; dropout: number; target_modules: string[]; modules_to_save: string[]}
  scheduler: {kind: 'constant' | 'cosine' | 'warmup_hold_cosine'; warmup_ratio: number; warmup_steps: number; hold_ratio: number; min_lr: number; per: 'step' | 'epoch'; rewarm_steps: number}
  logging_steps: number
  eval_steps: number
  save_steps: number
  tensorboard: boolean
}

export interface TrainResult {
  /** the tfjs backend that ran */
  backend: string
  step: number
  finished: boolean
  /** true when it returned because the runtime asked it to stop */
  stopped: boolean
  lastLoss?: number
  evalMetrics?: Record<string, number>
}

export interface TrainerState {
  version: number
  global_step: number
  epoch: number
  /** samples of this epoch's shuffled order already consumed */
  epoch_position: number
  rng: RngState
  scheduler: {resumedAt: number[]}
  best_metric?: number
  backend: string
  finished?: boolean
}

export interface TrainerParts<M extends TrainableModel = Vlm> {
  backend: SelectedBackend
  model: M
  task: TrainingTask<M>
  tokenizer?: Tokenizer
  trainer: TrainerKeys
  /** how a worker thread rebuilds model and task, for `trainer.workers` > 1; without it the run trains on one thread */
  replica?: ReplicaSpec
}

/**
 * A replica recipe: a worker thread `require`s `module` (an absolute path of a compiled CommonJS
 * file, e.g. path.join(__dirname, 'replica.js')) and calls its export `export` (a ReplicaFactory)
 * with `args` (structured-cloneable: no closures, no tensors). The factory builds the same model and
 * task as the run; the worker then overwrites the model's weights with the run's.
 */
export interface ReplicaSpec {
  module: string
  export: string
  args: unknown
}
export interface Replica<M extends TrainableModel = TrainableModel> {
  model: M
  task: TrainingTask<M>
}
/** What a worker thread hands a factory: its own backend, the trainer core and the formats core. */
export interface ReplicaEnv {
  backend: SelectedBackend
  trainer: TrainerCore
  loadFormats(): Promise<FormatsCore>
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ReplicaFactory<A = any, M extends TrainableModel = any> = (args: A, env: ReplicaEnv) => Replica<M> | Promise<Replica<M>>

/** The training loop (AdamW, accumulation, clipping, schedules, eval, checkpoints, exact resume). */
export interface Trainer {
  readonly names: string[]
  readonly stepsPerEpoch: number
  readonly totalSteps: number
  readonly workers: number
  readonly globalStep: number
  /** restores from the newest checkpoint, if any; returns its step */
  resume(): Promise<number | undefined>
  /** the learning rate of parameter `name` at `step` (a subclass may scale it) */
  lrOf(name: string, step: number): number
  learningRates(step: number): Record<string, number>
  trainStep(): {loss: number; gradNorm: number}
  state(): TrainerState
  checkpointFiles(final: boolean): CheckpointFiles
  /** runs until the last step or until the runtime asks to stop (then saves and returns) */
  train(): Promise<TrainResult>
  dispose(): void
}
export type TrainerClass = new <M extends TrainableModel = Vlm>(ctx: TrainerContext, parts: TrainerParts<M>) => Trainer

/** The compact VLM of a plugin's `builtin.model` keys. */
export interface BuiltinModelKeys {
  width: number
  depth: number
  heads: number
  context_length?: number
  dropout: number
  image_size: number
  patch_size: number
  vision_width: number
  vision_depth: number
}

/** The trainer core's functions and classes that plugins may use. */
export interface TrainerCore {
  Rng: RngClass
  Vlm: VlmClass
  Trainer: TrainerClass
  ParamStore: ParamStoreClass
  nn: NnLayers
  /** the one Hugging Face TrainingArguments → trainer keys mapping (also `api.trainerConfig.fromHfTrainingArgs`) */
  fromHfTrainingArgs: TrainerConfigKit['fromHfTrainingArgs']
  WordTokenizer: WordTokenizerClass
  selectBackend(preference?: BackendPreference): Promise<SelectedBackend>
  describeBackend(b: SelectedBackend): string
  tokenizerFromJSON(json: Record<string, unknown>): Tokenizer
  encodeSafetensors(tensors: Record<string, SafeTensor>, metadata?: Record<string, string>): Uint8Array
  decodeSafetensors(file: Uint8Array): DecodedSafetensors
  /** zod schema of the trainer block: parse() validates and fills defaults */
  trainerSchema: {parse(value: unknown): TrainerKeys}
  builtinModelConfig(
    m: BuiltinModelKeys,
    vocabSize: number,
    outputs: HeadKind[],
    extra?: {contextLength?: number; dropout?: number; frames?: number; promptFilm?: boolean; linearInit?: LinearInit},
  ): ModelConfig
  /** host-side patch extraction: images [B][H·W·C] → Float32Array [B, P, p·p·C] */
  patchifyHost(images: Float32Array[], v: VisionConfig): Float32Array
  /** masked mean token cross-entropy: logits [B, T, V], targets [B, T] int32, weights [B, T] */
  tokenCrossEntropy(tf: Tf, logits: Tensor, targets: Tensor, weights: Tensor): tf.Scalar
  /** runs (or resumes) the training loop for any task; saves and returns when asked to stop */
  trainWith(ctx: TrainerContext, options: TrainerParts): Promise<TrainResult>
  /** which parameters train (LoRA adapters + modules_to_save under LoRA, else all; minus frozen) */
  trainableNames(model: TrainableModel, t: TrainerKeys): string[]
  /** shuffled sample order of one epoch: a pure function of (seed, epoch) */
  epochOrder(seed: number, epoch: number, size: number): number[]
  sampleToken(logits: Float32Array, s: SamplingConfig): number
  generate(model: Vlm, prompts: number[][], patches: Float32Array | undefined, s: SamplingConfig, frameMask?: number[]): number[][]
  makeSpatialSample(seed: number, index: number, imageSize: number, options?: {tasks?: SpatialTask[]; maxObjects?: number}): SpatialSample
  /** every word a spatial sample can contain, for fitting a word tokenizer */
  spatialCorpus(): string[]
  /** a coloured square on a noisy dark image, drawn from `rng`: its colour and quadrant (0 top-left … 3 bottom-right) */
  drawSquare(rng: Rng, imageSize: number): {image: Float32Array; color: string; quadrant: number}
  COLORS: Record<string, [number, number, number]>
  QUADRANTS: string[]
}
