/**
 * The GRPO objective on one micro-batch of completions (TRL's formulation):
 *   ratio = exp(logp − logp_old) per completion token,
 *   per-token loss = −min(ratio·A, clip(ratio, 1 − ε, 1 + ε_high)·A) + β·KL,
 *   KL = exp(ref − logp) − (ref − logp) − 1 (the k3 estimator against the frozen start model),
 * normalised by loss_type: grpo (mean over sequences of their token mean), bnpo (mean over all
 * tokens), dr_grpo (sum / (B · max_completion_length)).
 * With one iteration per generation batch logp_old is the current logp, detached.
 */
import type * as tfTypes from '@tensorflow/tfjs-core'
import type {TrainingTask} from '@rfm/plugin-api'

type Tf = typeof tfTypes
type Vlm = Parameters<TrainingTask['loss']>[0]
type Rng = Parameters<TrainingTask['loss']>[2]

/** One completion as the loss sees it. */
export interface LossRow {
  /** BOS + prompt tokens */
  prefix: number[]
  /** completion tokens (with EOS when it ended) */
  completion: number[]
  patches: Float32Array
  advantage: number
  /** per completion token; absent = the current logp, detached */
  oldLogp?: number[]
  refLogp?: number[]
  /** a truncated completion whose tokens are masked (mask_truncated_completions) */
  masked: boolean
}

export interface LossOptions {
  epsilonLow: number
  epsilonHigh: number
  beta: number
  lossType: 'grpo' | 'bnpo' | 'dr_grpo'
  maxCompletionLength: number
}

/** Statistics of the last loss calls (host numbers), for kl and clip_ratio. */
export interface LossStats {
  tokens: number
  kl: number
  clippedLow: number
  clippedHigh: number
}

interface Layout {
  tokens: number[]
  targets: number[]
  mask: Float32Array
  t: number
  /** position of completion token k of row b: at[b] + k */
  at: number[]
}

/** Inputs are sequence[:-1], targets sequence[1:], right-padded to the longest row (causal: padding is never attended to). */
function layout(rows: LossRow[]): Layout {
  const t = Math.max(...rows.map((r) => r.prefix.length + r.completion.length - 1))
  const tokens: number[] = []
  const targets: number[] = []
  const mask = new Float32Array(rows.length * t)
  const at: number[] = []
  rows.forEach((r, b) => {
    const seq = [...r.prefix, ...r.completion]
    for (let j = 0; j < t; j++) {
      tokens.push(j < seq.length - 1 ? seq[j] : 0)
      targets.push(j + 1 < seq.length ? seq[j + 1] : 0)
    }
    at.push(r.prefix.length - 1)
    if (!r.masked) for (let k = 0; k < r.completion.length; k++) mask[b * t + r.prefix.length - 1 + k] = 1
  })
  return {tokens, targets, mask, t, at}
}

/** Per-token log-probabilities of the targets [B, T] under `model`. */
export function tokenLogp(tf: Tf, model: Vlm, rows: LossRow[], lay: Layout, training: boolean, rng?: Rng): tfTypes.Tensor {
  const b = rows.length
  const tokens = tf.tensor2d(lay.tokens, [b, lay.t], 'int32')
  const v = model.config.vision!
  const patchLen = v.patchSize * v.patchSize * v.channels
  const per = rows[0].patches.length
  const flat = new Float32Array(b * per)
  rows.forEach((r, i) => flat.set(r.patches, i * per))
  const patches = tf.tensor3d(flat, [b, per / patchLen, patchLen])
  // the prompt is the prefix (a prompt-FiLM model from sft modulates its image tokens by it)
  const logits = model.forward({tokens, patches, promptLengths: rows.map((r) => r.prefix.length)}, training, rng).logits!
  const vocab = logits.shape[2]!
  const logp = tf.logSoftmax(tf.reshape(logits, [-1, vocab]))
  const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(lay.targets, 'int32'), vocab)), -1)
  return tf.reshape(picked, [b, lay.t])
}

/** Host per-token logps of each row's completion tokens (no gradient): the old policy's or the reference's. */
export function completionLogps(tf: Tf, model: Vlm, rows: LossRow[]): number[][] {
  const lay = layout(rows)
  const lp = tf.tidy(() => tokenLogp(tf, model, rows, lay, false))
  const values = lp.dataSync() as Float32Array
  lp.dispose()
  return rows.map((r, b) => Array.from(values.subarray(b * lay.t + lay.at[b], b * lay.t + lay.at[b] + r.completion.length)))
}

function spread(rows: LossRow[], lay: Layout, pick: (r: LossRow) => number[] | undefined): Float32Array {
  const out = new Float32Array(rows.length * lay.t)
  rows.forEach((r, b) => {
    const values = pick(r)!
    for (let k = 0; k < r.completion.length; k++) out[b * lay.t + lay.at[b] + k] = values[k]
  })
  return out
}

/** The scalar GRPO loss of these rows (call inside the trainer's gradient tape); adds to `stats`. */
export function grpoLoss(tf: Tf, model: Vlm, rows: LossRow[], o: LossOptions, rng: Rng, stats: LossStats): tfTypes.Scalar {
  const lay = layout(rows)
  const b = rows.length
  const shape: [number, number] = [b, lay.t]
  const logp = tokenLogp(tf, model, rows, lay, true, rng)
  const logpHost = logp.dataSync() as Float32Array
  const old = rows[0].oldLogp
    ? tf.tensor2d(
        spread(rows, lay, (r) => r.oldLogp),
        shape,
      )
    : tf.tensor2d(Float32Array.from(logpHost), shape)
  const mask = tf.tensor2d(lay.mask, shape)
  const adv = tf.tensor2d(
    rows.map((r) => r.advantage),
    [b, 1],
  )
  // differences are masked before exp: padded positions must not overflow into inf × 0 = NaN
  const ratio = tf.exp(tf.mul(tf.sub(logp, old), mask))
  // min(x, y) = −max(−x, −y): only Maximum has a registered gradient in the trainer core
  const clipped = tf.maximum(tf.neg(tf.maximum(tf.neg(ratio), -(1 + o.epsilonHigh))), 1 - o.epsilonLow)
  let perToken = tf.maximum(tf.neg(tf.mul(ratio, adv)), tf.neg(tf.mul(clipped, adv)))
  let klHost: Float32Array | undefined
  if (o.beta > 0) {
    const d = tf.mul(
      tf.sub(
        tf.tensor2d(
          spread(rows, lay, (r) => r.refLogp),
          shape,
        ),
        logp,
      ),
      mask,
    )
    const kl = tf.sub(tf.sub(tf.exp(d), d), 1)
    klHost = kl.dataSync() as Float32Array
    perToken = tf.add(perToken, tf.mul(kl, o.beta))
  }
  // statistics on the host (comparisons have no gradients here)
  const ratioHost = ratio.dataSync() as Float32Array
  for (let i = 0; i < b; i++)
    for (let j = 0; j < lay.t; j++) {
      const k = i * lay.t + j
      if (lay.mask[k] === 0) continue
      stats.tokens += 1
      if (klHost) stats.kl += klHost[k]
      const a = rows[i].advantage
      if (ratioHost[k] < 1 - o.epsilonLow && a < 0) stats.clippedLow += 1
      if (ratioHost[k] > 1 + o.epsilonHigh && a > 0) stats.clippedHigh += 1
    }
  const masked = tf.mul(perToken, mask)
  if (o.lossType === 'grpo') {
    const perSeq = tf.div(tf.sum(masked, 1), tf.maximum(tf.sum(mask, 1), 1))
    return tf.mean(perSeq) as tfTypes.Scalar
  }
  if (o.lossType === 'bnpo') return tf.div(tf.sum(masked), tf.maximum(tf.sum(mask), 1)) as tfTypes.Scalar
  return tf.div(tf.sum(masked), b * o.maxCompletionLength) as tfTypes.Scalar
}
