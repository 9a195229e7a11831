/**
 * Text generation from an LM head: greedy (temperature 0) or temperature + nucleus (top-p)
 * sampling with our RNG. No KV cache: the compact models re-run the prefix each token.
 */
import type * as tfTypes from '@tensorflow/tfjs-core'

import {Vlm} from './nn/vlm'
import {Rng} from './rng'
import {EOS} from './tokenizer'

export interface SamplingConfig {
  maxNewTokens: number
  /** 0 = greedy */
  temperature: number
  topP: number
  rng?: Rng
}

/** Picks a token from logits: argmax when temperature is 0, else top-p sampling. */
export function sampleToken(logits: Float32Array, s: SamplingConfig): number {
  if (s.temperature <= 0) {
    let best = 0
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i
    return best
  }
  if (!s.rng) throw new Error('sampling with temperature > 0 needs an RNG')
  let max = -Infinity
  for (const l of logits) max = Math.max(max, l)
  const probs = Array.from(logits, (l, i) => ({i, p: Math.exp((l - max) / s.temperature)}))
  const total = probs.reduce((a, b) => a + b.p, 0)
  probs.sort((a, b) => b.p - a.p || a.i - b.i)
  const kept: typeof probs = []
  let mass = 0
  for (const x of probs) {
    kept.push(x)
    mass += x.p / total
    if (mass >= s.topP) break
  }
  const keptTotal = kept.reduce((a, b) => a + b.p, 0)
  let u = s.rng.next() * keptTotal
  for (const x of kept) {
    u -= x.p
    if (u <= 0) return x.i
  }
  return kept[kept.length - 1].i
}

/** Continues each prompt (same length within the batch) until EOS or maxNewTokens; returns the new tokens. `frameMask`: see ModelInputs. */
export function generate(model: Vlm, prompts: number[][], patches: Float32Array | undefined, s: SamplingConfig, frameMask?: number[]): number[][] {
  const tf = model.tf as typeof tfTypes
  const b = prompts.length
  const seqs = prompts.map((p) => [...p])
  const out: number[][] = prompts.map(() => [])
  const done = new Array(b).fill(false)
  const v = model.config.vision
  // the vision encoder (when it sees the prompt) must not see the tokens generated so far
  const promptLengths = prompts.map((p) => p.length)
  for (let n = 0; n < s.maxNewTokens && done.some((d) => !d); n++) {
    const t = seqs[0].length
    if (t > model.config.contextLength) break
    const last = tf.tidy(() => {
      const tokens = tf.tensor2d(seqs.flat(), [b, t], 'int32')
      const p = v && patches ? tf.tensor3d(patches, [b, patches.length / b / (v.patchSize ** 2 * v.channels), v.patchSize ** 2 * v.channels]) : undefined
      const logits = model.forward({tokens, patches: p, promptLengths, frameMask}, false).logits!
      return tf.reshape(tf.slice(logits, [0, t - 1, 0], [b, 1, -1]), [b, -1])
    })
    const values = last.dataSync() as Float32Array
    last.dispose()
    const vocab = values.length / b
    for (let i = 0; i < b; i++) {
      const id = done[i] ? EOS : sampleToken(values.subarray(i * vocab, (i + 1) * vocab), s)
      seqs[i].push(id)
      if (!done[i]) out[i].push(id)
      if (id === EOS) done[i] = true
    }
  }
  return out
}
