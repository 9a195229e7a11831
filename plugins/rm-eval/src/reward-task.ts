/**
 * The reward-model task for the built-in trainer: Bradley-Terry loss on (chosen, rejected) pairs of
 * generated preference data, scored by the compact VLM's scalar reward head, with optional margin,
 * reward centering and irrelevant-query augmentation.
 *
 *   loss = mean_normal softplus(-(r_c - r_r - margin))
 *        + irrelevant_loss_weight · mean_irrelevant softplus(-(r_c - r_r - margin))
 *        + center_rewards_coefficient · mean_all (r_c + r_r)²
 */
import type {TrainingTask} from '@rfm/plugin-api'

import {generatedSource, PreferencePair} from './preference-data'
import type {PairSource} from './records'
import type {Rng, Tensor, Tokenizer, TrainerCore as TrainerModule, Vlm} from '@rfm/plugin-api'

// the trainer's special token ids (src/trainer/tokenizer.ts)
const PAD = 0
const BOS = 1
const EOS = 2

export interface RewardTaskOptions {
  seed: number
  trainSize: number
  evalSize: number
  margin: number
  centerCoefficient: number
  irrelevantPairs: number
  irrelevantWeight: number
  /** weight of the next-token loss on chosen responses (needs the model's lm head) */
  lmWeight: number
  evalBatch?: number
  /** records from disk; default: generated pairs of `seed` */
  source?: PairSource
}

export interface PairScores {
  chosen: number[]
  rejected: number[]
}

/**
 * BOS query response EOS, padded on the left with PAD to `length` tokens: the reward head reads the
 * last position, which is then the EOS right after the response.
 */
export function encodePair(tokenizer: Tokenizer, query: string, response: string, length: number, what: string): number[] {
  const seq = [BOS, ...tokenizer.encode(query), ...tokenizer.encode(response), EOS]
  if (seq.length > length) throw new Error(`max_seq_length ${length} is too short for ${what} (${seq.length} tokens)`)
  return [...new Array<number>(length - seq.length).fill(PAD), ...seq]
}

/**
 * Rewards of both responses of each pair, in one forward pass. The scalar head (`heads.reward`) is
 * applied at every response token and at the EOS after it, and the reward is the mean of those
 * scores: each response token can check itself against the image and the query, which a tiny model
 * learns from pairwise labels far faster than when one position must summarise the whole sequence.
 */
export function rewardTensors(
  model: Vlm,
  trainer: TrainerModule,
  tokenizer: Tokenizer,
  pairs: PreferencePair[],
  training: boolean,
  rng?: Rng,
  lmRows = pairs.length,
): {chosen: Tensor; rejected: Tensor; lm?: Tensor} {
  const tf = model.tf
  const t = model.config.contextLength
  const v = model.config.vision!
  const n = pairs.length
  const tokens: number[] = []
  const mask = new Float32Array(2 * n * t)
  for (const [s, side] of (['chosen', 'rejected'] as const).entries()) {
    for (const [i, p] of pairs.entries()) {
      tokens.push(...encodePair(tokenizer, p.query, p[side], t, `${p.source ?? `pair ${i}`} (${side})`))
      // left-padded: the response and its EOS are the last tokens of the row
      const scored = tokenizer.encode(p[side]).length + 1
      mask.fill(1, (s * n + i + 1) * t - scored, (s * n + i + 1) * t)
    }
  }
  const images = [...pairs.map((p) => p.image), ...pairs.map((p) => p.image)]
  const prefix = (v.imageSize / v.patchSize) ** 2
  const patches = tf.tensor3d(trainer.patchifyHost(images, v), [2 * n, prefix, v.patchSize * v.patchSize * v.channels])
  const out = model.forward({tokens: tf.tensor2d(tokens, [2 * n, t], 'int32'), patches}, training, rng)
  const width = model.config.width
  const text = tf.reshape(tf.slice(out.hidden, [0, prefix, 0], [2 * n, t, width]), [2 * n * t, width])
  const scores = tf.reshape(tf.add(tf.matMul(text, model.store.get('heads.reward.weight')), model.store.get('heads.reward.bias')), [2 * n, t])
  const m = tf.tensor2d(mask, [2 * n, t])
  const reward = tf.div(tf.sum(tf.mul(scores, m), 1), tf.sum(m, 1))
  let lm: Tensor | undefined
  if (out.logits && training && lmRows > 0) {
    // next-token loss on the first lmRows chosen responses (and their EOS); targets shifted by one
    const r = lmRows
    const logits = tf.slice(out.logits, [0, 0, 0], [r, t - 1, model.config.vocabSize])
    const targets = tf.tensor2d(
      tokens.slice(0, r * t).filter((_, k) => k % t !== 0),
      [r, t - 1],
      'int32',
    )
    const weights = tf.tensor2d(
      Array.from({length: r * (t - 1)}, (_, k) => mask[Math.floor(k / (t - 1)) * t + (k % (t - 1)) + 1]),
      [r, t - 1],
    )
    lm = trainer.tokenCrossEntropy(tf, logits, targets, weights)
  }
  return {chosen: tf.slice(reward, [0], [n]), rejected: tf.slice(reward, [n], [n]), lm}
}

/** Scores pairs in batches (inference): the numbers the eval command and held-out metrics use. */
export function scorePairs(model: Vlm, trainer: TrainerModule, tokenizer: Tokenizer, pairs: PreferencePair[], batch: number): PairScores {
  const chosen: number[] = []
  const rejected: number[] = []
  for (let start = 0; start < pairs.length; start += batch) {
    const part = pairs.slice(start, start + batch)
    const [c, r] = model.tf.tidy(() => {
      const x = rewardTensors(model, trainer, tokenizer, part, false)
      return [x.chosen, x.rejected]
    })
    chosen.push(...(c.dataSync() as Float32Array))
    rejected.push(...(r.dataSync() as Float32Array))
    c.dispose()
    r.dispose()
  }
  return {chosen, rejected}
}

/** Preference accuracy, mean and (population) std of the margin r_c − r_r, and the count. */
export function preferenceMetrics(scores: PairScores): {accuracy: number; avg_margin: number; margin_std: number; count: number} {
  const margins = scores.chosen.map((c, i) => c - scores.rejected[i])
  const n = margins.length
  if (n === 0) return {accuracy: NaN, avg_margin: NaN, margin_std: NaN, count: 0}
  const mean = margins.reduce((a, b) => a + b, 0) / n
  const variance = margins.reduce((a, m) => a + (m - mean) ** 2, 0) / n
  return {accuracy: margins.filter((m) => m > 0).length / n, avg_margin: mean, margin_std: Math.sqrt(variance), count: n}
}

export class RewardTask implements TrainingTask {
  readonly trainSize: number
  private readonly cache = new Map<string, PreferencePair>()
  private readonly imageSize: number
  private readonly source: PairSource

  constructor(
    private readonly trainer: TrainerModule,
    private readonly tokenizer: Tokenizer,
    model: Vlm,
    private readonly options: RewardTaskOptions,
  ) {
    if (!model.config.vision) throw new Error('the reward model needs a vision encoder (builtin.model.vision)')
    if (!model.config.outputs.includes('reward')) throw new Error('the reward model needs the reward head')
    this.trainSize = options.trainSize
    this.imageSize = model.config.vision.imageSize
    this.source = options.source ?? generatedSource(trainer, options.seed)
  }

  pair(index: number): PreferencePair {
    const key = `n${index}`
    let p = this.cache.get(key)
    if (!p) this.cache.set(key, (p = this.source.pair(index, this.imageSize)))
    return p
  }

  irrelevant(index: number, k: number): PreferencePair {
    const key = `i${index}.${k}`
    let p = this.cache.get(key)
    if (!p) this.cache.set(key, (p = this.source.irrelevant(index, k, this.imageSize)))
    return p
  }

  loss(model: Vlm, indices: number[], rng: Rng): ReturnType<Vlm['tf']['scalar']> {
    const tf = model.tf
    const o = this.options
    const normal = indices.map((i) => this.pair(i))
    const extra = o.irrelevantPairs > 0 ? indices.flatMap((i) => Array.from({length: o.irrelevantPairs}, (_, k) => this.irrelevant(i, k))) : []
    const {chosen, rejected, lm} = rewardTensors(model, this.trainer, this.tokenizer, [...normal, ...extra], true, rng, normal.length)
    const diff = tf.sub(tf.sub(chosen, rejected), o.margin)
    // −log σ(d) = softplus(−d) = max(−d, 0) + log(1 + e^−|d|): stable, and built only from kernels
    // the trainer core registers gradients for (no Softplus/Log1p/Abs there)
    const negDiff = tf.neg(diff)
    const perPair = tf.add(tf.maximum(negDiff, 0), tf.log(tf.add(1, tf.exp(tf.neg(tf.maximum(diff, negDiff))))))
    let loss = tf.mean(tf.slice(perPair, [0], [normal.length]))
    if (extra.length > 0) loss = tf.add(loss, tf.mul(tf.mean(tf.slice(perPair, [normal.length], [extra.length])), o.irrelevantWeight))
    if (lm && o.lmWeight > 0) loss = tf.add(loss, tf.mul(lm, o.lmWeight))
    if (o.centerCoefficient > 0) loss = tf.add(loss, tf.mul(tf.mean(tf.square(tf.add(chosen, rejected))), o.centerCoefficient))
    return loss as ReturnType<Vlm['tf']['scalar']>
  }

  /** Held-out pairs (indices ≥ trainSize): accuracy and margin on normal pairs, and on irrelevant-query pairs. */
  evaluate(model: Vlm): Record<string, number> {
    const batch = this.options.evalBatch ?? 64
    const ids = Array.from({length: this.options.evalSize}, (_, i) => this.trainSize + i)
    const normal = scorePairs(
      model,
      this.trainer,
      this.tokenizer,
      ids.map((i) => this.pair(i)),
      batch,
    )
    const irrelevant = scorePairs(
      model,
      this.trainer,
      this.tokenizer,
      ids.map((i) => this.irrelevant(i, 0)),
      batch,
    )
    const m = preferenceMetrics(normal)
    const bt = normal.chosen.reduce((a, c, i) => a + Math.log1p(Math.exp(-(c - normal.rejected[i] - this.options.margin))), 0) / ids.length
    return {eval_loss: bt, eval_accuracy: m.accuracy, eval_margin: m.avg_margin, eval_irrelevant_accuracy: preferenceMetrics(irrelevant).accuracy}
  }
}
