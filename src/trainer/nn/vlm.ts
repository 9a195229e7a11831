/**
 * A compact vision-language model: a patch-embedding ViT (bidirectional blocks) whose tokens are
 * projected into a causal text transformer as a prefix; heads for next-token LM, scalar reward,
 * regression and action chunks. Text-only when `vision` is absent. Sizes come from config.
 */
import type * as tfTypes from '@tensorflow/tfjs-core'

import {LoraConfig} from '../lora'
import {LinearInit, ParamStore} from '../params'
import {Rng} from '../rng'
import {AttentionProducts, block, defineBlock, defineLayerNorm, defineLinear, Forward, layerNorm, linear} from './layers'

type Tensor = tfTypes.Tensor

export interface VisionConfig {
  imageSize: number
  channels: number
  patchSize: number
  width: number
  depth: number
  heads: number
  /**
   * Images per sample (default 1): video frames or several views. Each is encoded on its own and
   * tagged with a learned frame embedding; all their tokens form the text model's prefix.
   */
  frames?: number
  /**
   * The image tokens are modulated by the prompt (FiLM: h·(1 + γ) + β, with γ and β a linear map of
   * the prompt's token embeddings, position by position), so the image reaches the text model
   * already weighted by what the question names and in which order. A question about a relation
   * between named objects needs that binding; through attention alone a small model starts with
   * no gradient towards it and sat at chance for thousands of steps. Forward needs `promptLengths`.
   */
  promptFilm?: boolean
}

export type HeadKind = 'lm' | 'reward' | 'regression' | 'action'

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
  /** how linear weights start (default 'gpt2', N(0, 0.02)); see LinearInit */
  linearInit?: LinearInit
}

export interface ModelInputs {
  /** [B, T] int32 token ids */
  tokens: Tensor
  /** [B, F·P, patch·patch·C] float32 patches (see patchifyHost), F = vision.frames frames of P patches */
  patches?: Tensor
  /**
   * [B·F] 1 where a frame slot holds an image, 0 where it is empty (a shorter clip, a sample with one
   * trajectory): the text model does not attend to empty slots' tokens. Absent = every slot holds one.
   */
  frameMask?: number[]
  /** tokens of each row that are prompt (the rest is answer or padding): what FiLM may read when vision.promptFilm */
  promptLengths?: number[]
}

export interface ModelOutputs {
  /** [B, T, V] logits over the text positions */
  logits?: Tensor
  /** [B] */
  reward?: Tensor
  /** [B, regressionDim] */
  regression?: Tensor
  /** [B, actionChunk, actionDim] */
  actions?: Tensor
  /** [B, T_total, D] final hidden states */
  hidden: Tensor
}

export function numPatches(v: VisionConfig): number {
  return (v.imageSize / v.patchSize) ** 2
}

/** Vision tokens in the prefix: every frame's patches. */
export function prefixLength(v: VisionConfig): number {
  return numPatches(v) * (v.frames ?? 1)
}

export class Vlm {
  readonly store: ParamStore
  private readonly masks = new Map<number, Tensor>()
  /** how attention's products run (trainer.attention sets it; see AttentionProducts) */
  attentionProducts: AttentionProducts = 'batched'

  constructor(
    readonly tf: typeof tfTypes,
    readonly config: ModelConfig,
    rng: Rng,
    readonly lora?: LoraConfig,
  ) {
    const c = config
    if (c.width % c.heads) throw new Error(`model.width ${c.width} is not divisible by model.heads ${c.heads}`)
    this.store = new ParamStore(tf, rng, c.linearInit)
    const s = this.store
    const dims = {width: c.width, heads: c.heads, mlpRatio: c.mlpRatio}
    if (c.vision) {
      const v = c.vision
      if (v.imageSize % v.patchSize) throw new Error(`vision.image_size ${v.imageSize} is not divisible by vision.patch_size ${v.patchSize}`)
      if (v.width % v.heads) throw new Error(`vision.width ${v.width} is not divisible by vision.heads ${v.heads}`)
      defineLinear(s, 'vision.patch_embed', v.patchSize * v.patchSize * v.channels, v.width)
      // a strong position signal from the start: with 0.02 the quadrant questions sometimes stall near 60 %
      s.add('vision.pos_embed', [numPatches(v), v.width], {kind: 'normal', std: 0.2})
      for (let i = 0; i < v.depth; i++) defineBlock(s, `vision.blocks.${i}`, {width: v.width, heads: v.heads, mlpRatio: c.mlpRatio}, lora)
      if (v.promptFilm) {
        defineLayerNorm(s, 'vision.film.ln', c.width)
        // zeros: the modulation starts as the identity
        s.add('vision.film.weight', [c.contextLength * c.width, 2 * v.width], {kind: 'zeros'})
        s.add('vision.film.bias', [2 * v.width], {kind: 'zeros'})
      }
      defineLayerNorm(s, 'vision.ln_f', v.width)
      if ((v.frames ?? 1) > 1) s.add('vision.frame_embed', [v.frames!, 1, v.width], {kind: 'normal', std: 0.2})
      defineLinear(s, 'projector', v.width, c.width, lora)
    }
    s.add('text.embed.weight', [c.vocabSize, c.width], {kind: 'normal', std: 0.02})
    s.add('text.pos_embed', [c.contextLength + (c.vision ? prefixLength(c.vision) : 0), c.width], {kind: 'normal', std: 0.02})
    for (let i = 0; i < c.depth; i++) defineBlock(s, `text.blocks.${i}`, dims, lora)
    defineLayerNorm(s, 'text.ln_f', c.width)
    for (const head of c.outputs) {
      if (head === 'lm') defineLinear(s, 'heads.lm', c.width, c.vocabSize, undefined, false)
      if (head === 'reward') defineLinear(s, 'heads.reward', c.width, 1)
      if (head === 'regression') defineLinear(s, 'heads.regression', c.width, c.regressionDim ?? 1)
      if (head === 'action') defineLinear(s, 'heads.action', c.width, (c.actionChunk ?? 1) * (c.actionDim ?? 1))
    }
  }

  forward(inputs: ModelInputs, training: boolean, rng?: Rng): ModelOutputs {
    const tf = this.tf
    const c = this.config
    const f: Forward = {store: this.store, training, rng, lora: this.lora, masks: this.masks, attention: this.attentionProducts}
    const [b, t] = inputs.tokens.shape
    let x = tf.reshape(tf.gather(this.store.get('text.embed.weight'), tf.reshape(inputs.tokens, [-1])), [b, t, c.width])
    let prefix = 0
    if (c.vision) {
      if (!inputs.patches) throw new Error('this model has a vision encoder: inputs.patches is required')
      const v = c.vision
      const frames = v.frames ?? 1
      const p = numPatches(v)
      // frames are encoded independently: [B, F·P, d] → [B·F, P, d]
      const perFrame = frames > 1 ? tf.reshape(inputs.patches, [b * frames, p, -1]) : inputs.patches
      let h = tf.add(linear(f, 'vision.patch_embed', perFrame), this.store.get('vision.pos_embed'))
      for (let i = 0; i < v.depth; i++) h = block(f, `vision.blocks.${i}`, h, v.heads, false, c.dropout)
      h = layerNorm(f, 'vision.ln_f', h)
      if (v.promptFilm) h = this.film(f, h, x, inputs.promptLengths)
      if (frames > 1) h = tf.reshape(tf.add(tf.reshape(h, [b, frames, p, v.width]), this.store.get('vision.frame_embed')), [b, frames * p, v.width])
      const img = linear(f, 'projector', h)
      prefix = frames * p
      x = tf.concat([img, x], 1)
    }
    const total = prefix + t
    x = tf.add(x, tf.slice(this.store.get('text.pos_embed'), [0, 0], [total, c.width]))
    const keyMask = inputs.frameMask && c.vision ? this.emptySlotMask(inputs.frameMask, b, total) : undefined
    for (let i = 0; i < c.depth; i++) x = block(f, `text.blocks.${i}`, x, c.heads, true, c.dropout, keyMask)
    const hidden = layerNorm(f, 'text.ln_f', x)
    const out: ModelOutputs = {hidden}
    const textHidden = prefix ? tf.slice(hidden, [0, prefix, 0], [b, t, c.width]) : hidden
    // sequence-level heads read the last position (causal: it has seen everything)
    const last = tf.reshape(tf.slice(hidden, [0, total - 1, 0], [b, 1, c.width]), [b, c.width])
    if (this.store.has('heads.lm.weight')) out.logits = linear(f, 'heads.lm', textHidden)
    if (this.store.has('heads.reward.weight')) out.reward = tf.reshape(linear(f, 'heads.reward', last), [b])
    if (this.store.has('heads.regression.weight')) out.regression = linear(f, 'heads.regression', last)
    if (this.store.has('heads.action.weight')) out.actions = tf.reshape(linear(f, 'heads.action', last), [b, c.actionChunk ?? 1, c.actionDim ?? 1])
    return out
  }

  /**
   * Hides empty frame slots from the text model. Measured on robot VQA (progress answers with the
   * second trajectory's slots blank): with blank slots visible the model kept answering a constant
   * for 1000 steps; with them hidden (or filled) it learned within 500.
   */
  private emptySlotMask(frameMask: number[], b: number, total: number): Tensor {
    const v = this.config.vision!
    const frames = v.frames ?? 1
    const p = numPatches(v)
    if (frameMask.length !== b * frames) throw new Error(`inputs.frameMask has ${frameMask.length} entries, expected ${b * frames} (batch × frames)`)
    const hidden = new Float32Array(b * total)
    frameMask.forEach((present, k) => {
      if (!present) hidden.fill(-1e9, Math.floor(k / frames) * total + (k % frames) * p, Math.floor(k / frames) * total + ((k % frames) + 1) * p)
    })
    return this.tf.tensor4d(hidden, [b, 1, 1, total])
  }

  /** FiLM of the vision tokens h [B·F, P, d] by the prompt part of the embedded tokens [B, T, D] (see VisionConfig.promptFilm). */
  private film(f: Forward, h: Tensor, embedded: Tensor, promptLengths: number[] | undefined): Tensor {
    const tf = this.tf
    const [b, t, d] = embedded.shape as [number, number, number]
    const v = this.config.vision!
    if (!promptLengths || promptLengths.length !== b) throw new Error("this model's image tokens are modulated by the prompt: inputs.promptLengths (one per row) is required")
    const keep = new Float32Array(b * t)
    promptLengths.forEach((len, row) => keep.fill(1, row * t, row * t + Math.min(len, t)))
    // positions past the prompt (answer, padding) are zeroed: the answer must not leak into the image
    const prompt = tf.mul(layerNorm(f, 'vision.film.ln', embedded), tf.tensor3d(keep, [b, t, 1]))
    // zeros concatenated, not tf.pad: wasm has no gradient for PadV2 (GRPO trains on shorter rows than the context)
    const padded = t < this.config.contextLength ? tf.concat([prompt, tf.zeros([b, this.config.contextLength - t, d])], 1) : prompt
    const gb = tf.add(tf.matMul(tf.reshape(padded, [b, -1]), this.store.get('vision.film.weight')), this.store.get('vision.film.bias'))
    const gamma = tf.reshape(tf.slice(gb, [0, 0], [b, v.width]), [b, 1, 1, v.width])
    const beta = tf.reshape(tf.slice(gb, [0, v.width], [b, v.width]), [b, 1, 1, v.width])
    const frames = v.frames ?? 1
    const per = tf.reshape(h, [b, frames, -1, v.width])
    return tf.reshape(tf.add(tf.mul(per, tf.add(gamma, 1)), beta), h.shape)
  }

  dispose(): void {
    for (const m of this.masks.values()) m.dispose()
    this.masks.clear()
    this.store.dispose()
  }
}

/** Host-side patch extraction: images [B][H·W·C] (HWC order) → Float32Array [B, P, p·p·C]. */
export function patchifyHost(images: Float32Array[], v: VisionConfig): Float32Array {
  const p = v.patchSize
  const g = v.imageSize / p
  const patchLen = p * p * v.channels
  const out = new Float32Array(images.length * g * g * patchLen)
  let o = 0
  for (const img of images) {
    for (let gy = 0; gy < g; gy++) {
      for (let gx = 0; gx < g; gx++) {
        for (let y = 0; y < p; y++) {
          const row = ((gy * p + y) * v.imageSize + gx * p) * v.channels
          out.set(img.subarray(row, row + p * v.channels), o)
          o += p * v.channels
        }
      }
    }
  }
  return out
}
