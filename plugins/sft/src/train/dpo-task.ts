/**
 * DPO (Rafailov et al. 2023), sigmoid loss: for an image + question with a chosen and a rejected
 * answer, with log-probabilities of the answer tokens under the policy (π) and a frozen reference
 * copy of the SFT model (ref),
 *   loss = −log σ(β·[(log π_c − log ref_c) − (log π_r − log ref_r)])
 * rewards/chosen = β(log π_c − log ref_c), rewards/rejected likewise, margins = their difference,
 * accuracies = share of pairs with chosen reward > rejected reward.
 */
import type {TrainingTask} from '@rfm/plugin-api'

import {batchTensors, FrameLayout, sequenceLogProbs, Slots, slotsOf, TextRow, textRow} from './encode'
import {answerMetrics, generateAnswers} from './evaluate'
import type {EvalOptions} from './sft-task'
import type {ItemSource, Rng, Scalar, Tensor, Tokenizer, TrainerModule, Vlm, VqaItem} from './types'

interface Pair {
  chosen: TextRow
  rejected: TextRow
  slots: Slots
}

export interface RewardStats {
  'rewards/chosen': number
  'rewards/rejected': number
  'rewards/margins': number
  'rewards/accuracies': number
}

interface DpoSums {
  chosen: number
  rejected: number
  accurate: number
  n: number
}

export class DpoTask implements TrainingTask {
  readonly trainSize: number
  private readonly pairs = new Map<number, Pair>()
  private sums: DpoSums = {chosen: 0, rejected: 0, accurate: 0, n: 0}

  constructor(
    private readonly trainer: TrainerModule,
    private readonly tokenizer: Tokenizer,
    private readonly reference: Vlm,
    private readonly train: ItemSource,
    private readonly layout: FrameLayout,
    private readonly beta: number,
    /** weight of the chosen answers' mean token NLL added to the loss (RPO) */
    private readonly rpoAlpha: number,
    private readonly contextLength: number,
    private readonly evaluation?: EvalOptions,
  ) {
    this.trainSize = train.size
  }

  private pairOf(item: VqaItem): Pair {
    return {
      chosen: textRow(this.tokenizer, item.question, item.answer, this.contextLength),
      rejected: textRow(this.tokenizer, item.question, item.rejected, this.contextLength),
      slots: slotsOf(item, this.layout),
    }
  }

  private pair(index: number): Pair {
    let p = this.pairs.get(index)
    if (!p) this.pairs.set(index, (p = this.pairOf(this.train.get(index))))
    return p
  }

  /** Implicit rewards β(log π − log ref) of the chosen and rejected answers: [n] each. */
  rewards(model: Vlm, pairs: Pair[], training: boolean, rng?: Rng): {chosen: Tensor; rejected: Tensor; chosenLogProb: Tensor} {
    const tf = model.tf
    const n = pairs.length
    const rows = [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)]
    const x = batchTensors(this.trainer, model, rows, [...pairs.map((p) => p.slots), ...pairs.map((p) => p.slots)])
    const policy = sequenceLogProbs(model, model.forward(x.inputs, training, rng).logits!, x.targets, x.weights)
    // the reference is frozen: no dropout, and no gradient reaches it (its variables are not trained)
    const ref = sequenceLogProbs(this.reference, this.reference.forward(x.inputs, false).logits!, x.targets, x.weights)
    const reward = tf.mul(tf.sub(policy, ref), this.beta)
    return {chosen: tf.slice(reward, [0], [n]), rejected: tf.slice(reward, [n], [n]), chosenLogProb: tf.slice(policy, [0], [n])}
  }

  loss(model: Vlm, indices: number[], rng: Rng): Scalar {
    const tf = model.tf
    const pairs = indices.map((i) => this.pair(i))
    const {chosen, rejected, chosenLogProb} = this.rewards(model, pairs, true, rng)
    const margin = tf.sub(chosen, rejected)
    this.record(chosen, rejected)
    // −log σ(m) = softplus(−m) = max(−m, 0) + log(1 + e^−|m|), from kernels the trainer core has gradients for
    const neg = tf.neg(margin)
    const perPair = tf.add(tf.maximum(neg, 0), tf.log(tf.add(1, tf.exp(tf.neg(tf.maximum(margin, neg))))))
    if (this.rpoAlpha === 0) return tf.mean(perPair) as Scalar
    // RPO: the chosen answers' negative log-likelihood per token, so DPO cannot push both answers down
    const tokens = tf.tensor1d(pairs.map((p) => p.chosen.answerLength))
    return tf.add(tf.mean(perPair), tf.mul(tf.mean(tf.div(tf.neg(chosenLogProb), tokens)), this.rpoAlpha)) as Scalar
  }

  private record(chosen: Tensor, rejected: Tensor): void {
    const c = chosen.dataSync() as Float32Array
    const r = rejected.dataSync() as Float32Array
    c.forEach((v, i) => {
      this.sums.chosen += v
      this.sums.rejected += r[i]
      if (v > r[i]) this.sums.accurate += 1
      this.sums.n += 1
    })
  }

  /** A worker replica's reward sums since the last call (the trainer hands them to the run's task). */
  drainShardStats(): DpoSums {
    const s = this.sums
    this.sums = {chosen: 0, rejected: 0, accurate: 0, n: 0}
    return s
  }

  mergeShardStats(stats: unknown): void {
    const s = stats as DpoSums
    this.sums = {chosen: this.sums.chosen + s.chosen, rejected: this.sums.rejected + s.rejected, accurate: this.sums.accurate + s.accurate, n: this.sums.n + s.n}
  }

  /** Mean reward statistics of the training pairs seen since the last call (logged with the loss). */
  drainStats(): RewardStats | undefined {
    const s = this.sums
    if (s.n === 0) return undefined
    this.sums = {chosen: 0, rejected: 0, accurate: 0, n: 0}
    return {'rewards/chosen': s.chosen / s.n, 'rewards/rejected': s.rejected / s.n, 'rewards/margins': (s.chosen - s.rejected) / s.n, 'rewards/accuracies': s.accurate / s.n}
  }

  get evaluate(): ((model: Vlm) => Record<string, number>) | undefined {
    const e = this.evaluation
    if (!e || e.items.length === 0) return undefined
    return (model: Vlm) => {
      let chosen = 0
      let rejected = 0
      let accurate = 0
      let loss = 0
      for (let start = 0; start < e.items.length; start += e.batch) {
        const pairs = e.items.slice(start, start + e.batch).map((item) => this.pairOf(item))
        const [c, r] = model.tf.tidy(() => {
          const x = this.rewards(model, pairs, false)
          return [x.chosen, x.rejected]
        })
        const cv = c.dataSync() as Float32Array
        const rv = r.dataSync() as Float32Array
        cv.forEach((v, i) => {
          chosen += v
          rejected += rv[i]
          if (v > rv[i]) accurate += 1
          loss += Math.log1p(Math.exp(-(v - rv[i])))
        })
        c.dispose()
        r.dispose()
      }
      const n = e.items.length
      const answers = generateAnswers(this.trainer, model, this.tokenizer, e.items, this.layout, e.batch, e.maxNewTokens)
      return {
        eval_loss: loss / n,
        'eval_rewards/chosen': chosen / n,
        'eval_rewards/rejected': rejected / n,
        'eval_rewards/margins': (chosen - rejected) / n,
        'eval_rewards/accuracies': accurate / n,
        ...answerMetrics(e.items, answers),
      }
    }
  }
}
