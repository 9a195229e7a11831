/**
 * The GRPO objective against values worked out by hand: advantages (group / batch / none), the
 * three loss normalisations, the k3 KL term and the clipped surrogate, on a real compact model.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {trainer} from '@rfm/plugin-kit/testing'
import {grpoLoss, grpoTrain, LossOptions, LossRow, LossStats} from '../plugin'

const {Rng, selectBackend, Vlm} = trainer

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol, `${a} ≠ ${b}`)

test('advantages: (r − mean) / (std + 1e-4) per group, batch std, or no scaling', () => {
  const r = [1, 0, 1, 0, 2, 2, 2, 2]
  const g = grpoTrain.advantages(r, 4, 'group')
  const s = Math.sqrt((4 * 0.25) / 3)
  close(g.advantages[0], 0.5 / (s + 1e-4))
  close(g.advantages[1], -0.5 / (s + 1e-4))
  assert.deepEqual(g.advantages.slice(4), [0, 0, 0, 0], 'a group with equal rewards has no signal')
  assert.deepEqual(
    g.groupStd.map((x) => Number(x.toFixed(6))),
    [Number(s.toFixed(6)), 0],
  )
  const mean = r.reduce((a, b) => a + b) / r.length
  const batchStd = Math.sqrt(r.reduce((a, b) => a + (b - mean) ** 2, 0) / (r.length - 1))
  close(grpoTrain.advantages(r, 4, 'batch').advantages[0], 0.5 / (batchStd + 1e-4))
  assert.deepEqual(grpoTrain.advantages(r, 4, 'none').advantages, [0.5, -0.5, 0.5, -0.5, 0, 0, 0, 0])
})

async function setup() {
  const backend = await selectBackend('auto')
  const tf = backend.tf
  const model = new Vlm(
    tf,
    {vocabSize: 12, width: 16, depth: 1, heads: 2, mlpRatio: 2, contextLength: 12, dropout: 0, outputs: ['lm'], vision: {imageSize: 8, channels: 3, patchSize: 4, width: 16, depth: 1, heads: 2}},
    new Rng(1),
  )
  const rng = new Rng(5)
  const patches = () => Float32Array.from({length: 4 * 48}, () => rng.next())
  const rows: LossRow[] = [
    {prefix: [1, 5, 6], completion: [7, 8], patches: patches(), advantage: 1, masked: false},
    {prefix: [1, 5, 6], completion: [9, 4, 2], patches: patches(), advantage: -0.5, masked: false},
    {prefix: [1, 6], completion: [10], patches: patches(), advantage: 0.5, masked: false},
    {prefix: [1, 6], completion: [11, 7, 2], patches: patches(), advantage: 2, masked: false},
  ]
  return {tf, model, rows}
}

const opts = (o: Partial<LossOptions> = {}): LossOptions => ({epsilonLow: 0.2, epsilonHigh: 0.2, beta: 0, lossType: 'grpo', maxCompletionLength: 4, ...o})
const fresh = (): LossStats => ({tokens: 0, kl: 0, clippedLow: 0, clippedHigh: 0})

test('on-policy (ratio 1) losses: grpo = −mean A, bnpo = −ΣA·len/Σlen, dr_grpo = −ΣA·len/(B·max_len)', async () => {
  const {tf, model, rows} = await setup()
  const value = (o: LossOptions) => {
    const l = grpoLoss.grpoLoss(tf, model, rows, o, new Rng(1), fresh())
    const v = l.dataSync()[0]
    l.dispose()
    return v
  }
  close(value(opts()), -(1 - 0.5 + 0.5 + 2) / 4)
  close(value(opts({lossType: 'bnpo'})), -(1 * 2 - 0.5 * 3 + 0.5 * 1 + 2 * 3) / 9)
  close(value(opts({lossType: 'dr_grpo'})), -(1 * 2 - 0.5 * 3 + 0.5 * 1 + 2 * 3) / (4 * 4))
  // masking a truncated completion drops its tokens (its row then counts as an empty sequence)
  const masked = rows.map((r, i) => ({...r, masked: i === 3}))
  const l = grpoLoss.grpoLoss(tf, model, masked, opts(), new Rng(1), fresh())
  close(l.dataSync()[0], -(1 - 0.5 + 0.5) / 4)
  model.dispose()
})

test('the gradient pushes up log-probabilities of positive-advantage tokens', async () => {
  const {tf, model, rows} = await setup()
  const vars = model.store.names().map((n) => model.store.get(n))
  const before = grpoLoss.completionLogps(tf, model, rows)
  const {grads} = tf.variableGrads(() => grpoLoss.grpoLoss(tf, model, rows, opts(), new Rng(1), fresh()), vars)
  for (const [name, g] of Object.entries(grads)) {
    const v = vars.find((x) => x.name === name)!
    v.assign(tf.sub(v, tf.mul(g, 0.05)))
  }
  const after = grpoLoss.completionLogps(tf, model, rows)
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
  assert.ok(sum(after[3]) > sum(before[3]), 'A = 2: more likely')
  assert.ok(sum(after[1]) < sum(before[1]), 'A = −0.5: less likely')
  model.dispose()
})

test('k3 KL: 0 against itself; e^d − d − 1 per token against a shifted reference; reported as kl', async () => {
  const {tf, model, rows} = await setup()
  const logps = grpoLoss.completionLogps(tf, model, rows)
  const same = rows.map((r, i) => ({...r, refLogp: logps[i]}))
  const s1 = fresh()
  close(grpoLoss.grpoLoss(tf, model, same, opts({beta: 0.5}), new Rng(1), s1).dataSync()[0], -3 / 4)
  close(s1.kl / s1.tokens, 0)
  const shifted = rows.map((r, i) => ({...r, refLogp: logps[i].map((x) => x - 1)}))
  const s2 = fresh()
  const k3 = Math.exp(-1) + 1 - 1
  close(grpoLoss.grpoLoss(tf, model, shifted, opts({beta: 0.5}), new Rng(1), s2).dataSync()[0], -3 / 4 + 0.5 * k3)
  close(s2.kl / s2.tokens, k3)
  assert.equal(s2.tokens, 9)
  model.dispose()
})

test('clipped surrogate: ratio e^−1 below 1 − ε clips the negative-advantage tokens (clip_ratio low)', async () => {
  const {tf, model, rows} = await setup()
  const logps = grpoLoss.completionLogps(tf, model, rows)
  const off = rows.map((r, i) => ({...r, oldLogp: logps[i].map((x) => x + 1)}))
  const s = fresh()
  const r = Math.exp(-1)
  // per token: A > 0 → −r·A; A < 0 → −(1 − ε)·A (the pessimistic bound)
  const perRow = off.map((x) => (x.advantage > 0 ? -r * x.advantage : -(1 - 0.2) * x.advantage))
  close(grpoLoss.grpoLoss(tf, model, off, opts(), new Rng(1), s).dataSync()[0], perRow.reduce((a, b) => a + b) / 4, 1e-4)
  assert.equal(s.clippedLow, 3, 'the three tokens of the A < 0 row')
  assert.equal(s.clippedHigh, 0)
  // epsilon_high widens only the upper bound: ratio e^+1 with ε_high = 2 is not clipped
  const up = rows.map((x, i) => ({...x, oldLogp: logps[i].map((v) => v - 1)}))
  const s3 = fresh()
  grpoLoss.grpoLoss(tf, model, up, opts({epsilonHigh: 2}), new Rng(1), s3).dispose()
  assert.equal(s3.clippedHigh, 0)
  const s4 = fresh()
  grpoLoss.grpoLoss(tf, model, up, opts(), new Rng(1), s4).dispose()
  assert.equal(s4.clippedHigh, 9 - 3, 'positive-advantage tokens above 1 + ε')
  model.dispose()
})
