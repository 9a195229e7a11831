/**
 * Building blocks over tfjs-core ops with explicitly named parameters: linear (with optional LoRA),
 * layer norm, multi-head attention (causal or bidirectional), pre-norm transformer blocks, and a
 * patch-embedding vision encoder.
 */
import type * as tfTypes from '@tensorflow/tfjs-core'

import {matMulT} from '../gradients'
import {hasNativeMatMul} from '../native-kernels'
import {addLoraParams, dropoutMask, isLoraTarget, LORA_A, LORA_B, LoraConfig} from '../lora'
import {ParamStore} from '../params'
import {hasHeadMatMul, headMatMul} from '../wasm-head-matmul'
import {Rng} from '../rng'

type Tensor = tfTypes.Tensor

export interface Forward {
  store: ParamStore
  training: boolean
  /** RNG for dropout masks; required when training with dropout > 0 */
  rng?: Rng
  lora?: LoraConfig
  /** cached causal masks by sequence length (kept outside tidy) */
  masks: Map<number, Tensor>
  /** how attention's products run (see AttentionProducts); default 'batched' */
  attention?: AttentionProducts
}

/**
 * 'batched': one batched matmul per product (the original numerics). 'per_head': B·H rank-2
 * products, which tfjs-wasm runs in XNNPACK while it runs batched products in a naive loop
 * (measured ~25× the FLOP/s at [64,128,64]×[64,64,128]); float results differ in the last bits.
 */
export type AttentionProducts = 'batched' | 'per_head'

/** a [..., m, k] · b [..., k, n] (bᵀ when transposeB) as one rank-2 product per leading index. */
export function perHeadMatMul(tf: typeof tfTypes, a: Tensor, b: Tensor, transposeB = false): Tensor {
  // OpenBLAS: a batched product is already one rank-2 sgemm per head, and bᵀ needs no transpose
  if (hasNativeMatMul(tf)) return tf.matMul(a, b, false, transposeB)
  const lead = a.shape.slice(0, -2)
  const count = lead.reduce((x, y) => x * y, 1)
  const [m, k] = a.shape.slice(-2)
  const bt = transposeB
    ? tf.transpose(
        b,
        [...b.shape.keys()].map((i) => (i < b.rank - 2 ? i : i === b.rank - 2 ? b.rank - 1 : b.rank - 2)),
      )
    : b
  const n = bt.shape[bt.rank - 1]
  // wasm: one kernel call for all products (wasm-head-matmul.ts), bitwise the same as the split below
  if (hasHeadMatMul(tf)) return tf.reshape(headMatMul(tf, tf.reshape(a, [count, m, k]), tf.reshape(bt, [count, k, n])), [...lead, m, n])
  const as = tf.split(tf.reshape(a, [count, m, k]), count, 0)
  const bs = tf.split(tf.reshape(bt, [count, k, n]), count, 0)
  const outs = as.map((x, i) => tf.reshape(tf.matMul(tf.reshape(x, [m, k]), tf.reshape(bs[i], [k, n])), [1, m, n]))
  return tf.reshape(tf.concat(outs, 0), [...lead, m, n])
}

export function defineLinear(store: ParamStore, path: string, inDim: number, outDim: number, lora?: LoraConfig, bias = true): void {
  store.add(path + '.weight', [inDim, outDim], store.linearWeightInit(inDim))
  if (bias) store.add(path + '.bias', [outDim], {kind: 'zeros'})
  if (isLoraTarget(path, lora)) addLoraParams(store, path, inDim, outDim, lora!)
}

export function dropout(f: Forward, x: Tensor, rate: number): Tensor {
  if (!f.training || rate <= 0) return x
  if (!f.rng) throw new Error('dropout during training needs an RNG')
  const tf = f.store.tf
  return tf.mul(x, tf.tensor(dropoutMask(f.rng, x.size, rate), x.shape, 'float32'))
}

/** x [..., in] → [..., out] */
export function linear(f: Forward, path: string, x: Tensor): Tensor {
  const tf = f.store.tf
  const w = f.store.get(path + '.weight')
  const [inDim, outDim] = w.shape
  const lead = x.shape.slice(0, -1)
  const x2 = tf.reshape(x, [-1, inDim])
  let y = tf.matMul(x2, w)
  if (f.store.has(path + '.bias')) y = tf.add(y, f.store.get(path + '.bias'))
  if (f.store.has(path + LORA_A) && f.lora) {
    const xa = dropout(f, x2, f.lora.dropout)
    const delta = tf.matMul(tf.matMul(xa, f.store.get(path + LORA_A)), f.store.get(path + LORA_B))
    y = tf.add(y, tf.mul(delta, f.lora.alpha / f.lora.rank))
  }
  return tf.reshape(y, [...lead, outDim])
}

export function defineLayerNorm(store: ParamStore, path: string, dim: number): void {
  store.add(path + '.weight', [dim], {kind: 'ones'})
  store.add(path + '.bias', [dim], {kind: 'zeros'})
}

export function layerNorm(f: Forward, path: string, x: Tensor): Tensor {
  const tf = f.store.tf
  const {mean, variance} = tf.moments(x, -1, true)
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5)))
  return tf.add(tf.mul(normed, f.store.get(path + '.weight')), f.store.get(path + '.bias'))
}

export interface BlockDims {
  width: number
  heads: number
  mlpRatio: number
}

export function defineBlock(store: ParamStore, path: string, d: BlockDims, lora?: LoraConfig): void {
  defineLayerNorm(store, path + '.ln1', d.width)
  for (const m of ['q', 'k', 'v', 'o']) defineLinear(store, `${path}.attn.${m}`, d.width, d.width, lora)
  defineLayerNorm(store, path + '.ln2', d.width)
  defineLinear(store, path + '.mlp.fc1', d.width, d.width * d.mlpRatio, lora)
  defineLinear(store, path + '.mlp.fc2', d.width * d.mlpRatio, d.width, lora)
}

function causalMask(f: Forward, t: number): Tensor {
  let mask = f.masks.get(t)
  if (!mask) {
    const values = new Float32Array(t * t)
    for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) values[i * t + j] = -1e9
    mask = f.store.tf.keep(f.store.tf.tensor(values, [t, t]))
    f.masks.set(t, mask)
  }
  return mask
}

/** Multi-head self-attention, x [B, T, D]; `keyMask` [B, 1, 1, T] is added to the scores (-1e9 hides a position from every query). */
export function attention(f: Forward, path: string, x: Tensor, heads: number, causal: boolean, keyMask?: Tensor): Tensor {
  const tf = f.store.tf
  const [b, t, d] = x.shape
  const dh = d / heads
  const split = (y: Tensor) => tf.transpose(tf.reshape(y, [b, t, heads, dh]), [0, 2, 1, 3])
  const q = split(tf.mul(linear(f, path + '.q', x), 1 / Math.sqrt(dh)))
  const k = split(linear(f, path + '.k', x))
  const v = split(linear(f, path + '.v', x))
  const perHead = f.attention === 'per_head'
  let scores = perHead ? perHeadMatMul(tf, q, k, true) : matMulT(tf, q, k, false, true)
  if (causal) scores = tf.add(scores, causalMask(f, t))
  if (keyMask) scores = tf.add(scores, keyMask)
  const context = perHead ? perHeadMatMul(tf, tf.softmax(scores), v) : matMulT(tf, tf.softmax(scores), v)
  return linear(f, path + '.o', tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [b, t, d]))
}

export function block(f: Forward, path: string, x: Tensor, heads: number, causal: boolean, dropoutRate: number, keyMask?: Tensor): Tensor {
  const tf = f.store.tf
  const a = attention(f, path + '.attn', layerNorm(f, path + '.ln1', x), heads, causal, keyMask)
  const h = tf.add(x, dropout(f, a, dropoutRate))
  const m = linear(f, path + '.mlp.fc2', gelu(tf, linear(f, path + '.mlp.fc1', layerNorm(f, path + '.ln2', h))))
  return tf.add(h, dropout(f, m, dropoutRate))
}

/**
 * QuickGELU, x·σ(1.702x), the GELU approximation CLIP uses: three elementwise ops instead of the tanh
 * form's eight; measured ~10 % faster training steps on the wasm backend.
 */
export function gelu(tf: typeof tfTypes, x: Tensor): Tensor {
  return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)))
}
