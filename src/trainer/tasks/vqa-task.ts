/** The shapes-VQA task as a TrainingTask: next-token LM loss on the answer (and EOS) only. */
import type * as tfTypes from '@tensorflow/tfjs-core'

import {patchifyHost, Vlm} from '../nn/vlm'
import {tokenCrossEntropy, TrainingTask} from '../task'
import {BOS, EOS, PAD, Tokenizer} from '../tokenizer'
import {makeVqaSample} from './shapes-vqa'

interface Encoded {
  /** BOS question answer EOS, padded with PAD to contextLength + 1 */
  sequence: number[]
  /** index in `sequence` of the first answer token */
  answerAt: number
  answerLength: number
  image: Float32Array
}

export interface VqaTaskOptions {
  seed: number
  trainSize: number
  evalSize: number
  /** evaluation batch size */
  evalBatch?: number
}

export class VqaTask implements TrainingTask {
  readonly trainSize: number
  private readonly cache = new Map<number, Encoded>()

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly model: Vlm,
    private readonly options: VqaTaskOptions,
  ) {
    this.trainSize = options.trainSize
    if (!model.config.vision) throw new Error('the shapes-vqa task needs a model with a vision encoder (model.vision)')
  }

  /** indices ≥ trainSize are held-out samples (the same generator, disjoint indices) */
  encode(index: number): Encoded {
    let e = this.cache.get(index)
    if (!e) {
      const s = makeVqaSample(this.options.seed, index, this.model.config.vision!.imageSize)
      const q = this.tokenizer.encode(s.question)
      const a = this.tokenizer.encode(s.answer)
      const length = this.model.config.contextLength + 1
      const sequence = [BOS, ...q, ...a, EOS]
      if (sequence.length > length) throw new Error(`model.context_length ${length - 1} is too short for a ${sequence.length}-token sample`)
      while (sequence.length < length) sequence.push(PAD)
      e = {sequence, answerAt: 1 + q.length, answerLength: a.length, image: s.image}
      this.cache.set(index, e)
    }
    return e
  }

  private inputs(indices: number[]) {
    const tf = this.model.tf as typeof tfTypes
    const t = this.model.config.contextLength
    const enc = indices.map((i) => this.encode(i))
    const v = this.model.config.vision!
    const patchLen = v.patchSize * v.patchSize * v.channels
    const tokens = tf.tensor2d(
      enc.flatMap((e) => e.sequence.slice(0, t)),
      [indices.length, t],
      'int32',
    )
    const targets = tf.tensor2d(
      enc.flatMap((e) => e.sequence.slice(1, t + 1)),
      [indices.length, t],
      'int32',
    )
    const weights = new Float32Array(indices.length * t)
    enc.forEach((e, b) => {
      // the target at position p is sequence[p + 1]: answer tokens and the EOS after them
      for (let k = 0; k <= e.answerLength; k++) weights[b * t + e.answerAt - 1 + k] = 1
    })
    const patches = tf.tensor3d(
      patchifyHost(
        enc.map((e) => e.image),
        v,
      ),
      [indices.length, (v.imageSize / v.patchSize) ** 2, patchLen],
    )
    return {tokens, targets, weights: tf.tensor2d(weights, [indices.length, t]), patches, enc}
  }

  loss(model: Vlm, indices: number[], rng: import('../rng').Rng): tfTypes.Scalar {
    const x = this.inputs(indices)
    const out = model.forward({tokens: x.tokens, patches: x.patches}, true, rng)
    return tokenCrossEntropy(model.tf, out.logits!, x.targets, x.weights)
  }

  /** eval_loss and eval_accuracy (greedy answer, all answer tokens right) on the held-out samples */
  evaluate(model: Vlm): Record<string, number> {
    const tf = model.tf as typeof tfTypes
    const batch = this.options.evalBatch ?? 64
    let lossSum = 0
    let correct = 0
    const n = this.options.evalSize
    for (let start = 0; start < n; start += batch) {
      const indices = Array.from({length: Math.min(batch, n - start)}, (_, i) => this.trainSize + start + i)
      const {loss, predicted} = tf.tidy(() => {
        const x = this.inputs(indices)
        const out = model.forward({tokens: x.tokens, patches: x.patches}, false)
        return {loss: tokenCrossEntropy(tf, out.logits!, x.targets, x.weights), predicted: tf.argMax(out.logits!, -1)}
      })
      lossSum += (loss.dataSync()[0] as number) * indices.length
      const pred = predicted.dataSync() as Int32Array
      const t = model.config.contextLength
      indices.forEach((index, b) => {
        const e = this.encode(index)
        let ok = true
        for (let k = 0; k < e.answerLength; k++) if (pred[b * t + e.answerAt - 1 + k] !== e.sequence[e.answerAt + k]) ok = false
        if (ok) correct += 1
      })
      loss.dispose()
      predicted.dispose()
    }
    return {eval_loss: lossSum / n, eval_accuracy: correct / n}
  }
}
