/**
 * VQA samples → the compact VLM's inputs. Frames: trajectory A's frames, evenly subsampled to
 * `framesPerTrajectory` slots (zero images where it has fewer), then trajectory B's the same way
 * when the model compares two; the Vlm encodes each slot alone and tags it with a frame embedding.
 * Blank slots are masked (Slots.mask): the text model does not attend to them.
 * Text: BOS question answer EOS, right-padded; only the answer and its EOS carry loss.
 */
import {spaced} from './text'
import type {Tensor, Tokenizer, TrainerModule, Vlm, VqaItem} from './types'

// the trainer's special token ids (src/trainer/tokenizer.ts)
export const PAD = 0
export const BOS = 1
export const EOS = 2

export interface FrameLayout {
  framesPerTrajectory: number
  /** slots for trajectory B too */
  twoTrajectories: boolean
  imageSize: number
}

export function slots(layout: FrameLayout): number {
  return layout.framesPerTrajectory * (layout.twoTrajectories ? 2 : 1)
}

/** `k` frames spread evenly over the trajectory (first and last kept); fewer are padded with blanks. */
export function subsample(frames: Float32Array[], k: number, blank: Float32Array): Float32Array[] {
  if (frames.length === 0) return new Array<Float32Array>(k).fill(blank)
  if (frames.length <= k) return [...frames, ...new Array<Float32Array>(k - frames.length).fill(blank)]
  return Array.from({length: k}, (_, i) => frames[k === 1 ? frames.length - 1 : Math.round((i * (frames.length - 1)) / (k - 1))])
}

/** What one sample shows the model: its frame slots and which of them hold a frame (1) or a blank (0). */
export interface Slots {
  images: Float32Array[]
  mask: number[]
}

export function slotImages(item: VqaItem, layout: FrameLayout): Float32Array[] {
  const blank = new Float32Array(layout.imageSize * layout.imageSize * 3)
  const a = subsample(item.framesA, layout.framesPerTrajectory, blank)
  return layout.twoTrajectories ? [...a, ...subsample(item.framesB, layout.framesPerTrajectory, blank)] : a
}

export function slotsOf(item: VqaItem, layout: FrameLayout): Slots {
  const filled = (n: number) => Array.from({length: layout.framesPerTrajectory}, (_, i) => (i < n ? 1 : 0))
  const a = filled(item.framesA.length)
  return {images: slotImages(item, layout), mask: layout.twoTrajectories ? [...a, ...filled(item.framesB.length)] : a}
}

export function promptTokens(tokenizer: Tokenizer, question: string): number[] {
  return [BOS, ...tokenizer.encode(spaced(question))]
}

export function answerTokens(tokenizer: Tokenizer, answer: string): number[] {
  return [...tokenizer.encode(spaced(answer)), EOS]
}

export interface TextRow {
  /** prompt + answer + EOS, padded with PAD to contextLength + 1 */
  sequence: number[]
  promptLength: number
  answerLength: number
}

export function textRow(tokenizer: Tokenizer, question: string, answer: string, contextLength: number): TextRow {
  const prompt = promptTokens(tokenizer, question)
  const ans = answerTokens(tokenizer, answer)
  const sequence = [...prompt, ...ans]
  if (sequence.length > contextLength + 1)
    throw new Error(`builtin.model.context_length ${contextLength} is too short for a ${sequence.length - 1}-token question + answer ("${question}" → "${answer}")`)
  while (sequence.length < contextLength + 1) sequence.push(PAD)
  return {sequence, promptLength: prompt.length, answerLength: ans.length}
}

export type ModelInputs = Parameters<Vlm['forward']>[0]

/** Model inputs for rows of text over the matching samples' slots, with the answer-token targets and weights. */
export function batchTensors(trainer: TrainerModule, model: Vlm, rows: TextRow[], slots: Slots[]): {inputs: ModelInputs; targets: Tensor; weights: Tensor} {
  const tf = model.tf
  const t = model.config.contextLength
  const v = model.config.vision!
  const n = rows.length
  const weights = new Float32Array(n * t)
  rows.forEach((r, b) => {
    // the target at position p is sequence[p + 1]: the answer tokens and the EOS after them
    weights.fill(1, b * t + r.promptLength - 1, b * t + r.promptLength - 1 + r.answerLength)
  })
  const perSample = slots[0].images.length
  const patchLen = v.patchSize * v.patchSize * v.channels
  const p = (v.imageSize / v.patchSize) ** 2
  return {
    inputs: {
      tokens: tf.tensor2d(
        rows.flatMap((r) => r.sequence.slice(0, t)),
        [n, t],
        'int32',
      ),
      patches: tf.tensor3d(
        trainer.patchifyHost(
          slots.flatMap((s) => s.images),
          v,
        ),
        [n, perSample * p, patchLen],
      ),
      promptLengths: rows.map((r) => r.promptLength),
      frameMask: slots.flatMap((s) => s.mask),
    },
    targets: tf.tensor2d(
      rows.flatMap((r) => r.sequence.slice(1, t + 1)),
      [n, t],
      'int32',
    ),
    weights: tf.tensor2d(weights, [n, t]),
  }
}

/** Sum of the log-probabilities of the weighted target tokens, per row: [R]. */
export function sequenceLogProbs(model: Vlm, logits: Tensor, targets: Tensor, weights: Tensor): Tensor {
  const tf = model.tf
  const [r, t, vocab] = logits.shape
  const logp = tf.logSoftmax(tf.reshape(logits, [-1, vocab]))
  const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.reshape(targets, [-1]) as Parameters<Vlm['tf']['oneHot']>[0], vocab)), -1)
  return tf.sum(tf.mul(tf.reshape(picked, [r, t]), weights), -1)
}
