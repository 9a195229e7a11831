/**
 * AdamW with decoupled weight decay (Loshchilov & Hutter), PyTorch's update order:
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + ε)
 * All state is named tensors (m.<param>, v.<param>) plus the step count, saved exactly; bias
 * corrections are recomputed from the step in float64, so nothing hides outside the checkpoint.
 * Rank-1 parameters (biases, norms) get no weight decay.
 */
import type * as tfTypes from '@tensorflow/tfjs-core'

import {f32Tensor, SafeTensor, toFloat32} from './formats/safetensors'
import {ParamStore} from './params'

export interface AdamWConfig {
  beta1: number
  beta2: number
  eps: number
  weightDecay: number
}

export class AdamW {
  step = 0
  private readonly m = new Map<string, tfTypes.Variable>()
  private readonly v = new Map<string, tfTypes.Variable>()

  constructor(
    private readonly store: ParamStore,
    readonly names: string[],
    readonly config: AdamWConfig,
  ) {
    const tf = store.tf
    for (const name of names) {
      const p = store.get(name)
      this.m.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      )
      this.v.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      )
    }
  }

  /** One update; `lrs` gives each parameter's learning rate for this step. */
  apply(grads: Map<string, tfTypes.Tensor>, lrOf: (name: string) => number): void {
    const tf = this.store.tf
    const {beta1, beta2, eps, weightDecay} = this.config
    this.step += 1
    const bc1 = 1 - Math.pow(beta1, this.step)
    const bc2 = 1 - Math.pow(beta2, this.step)
    tf.tidy(() => {
      for (const name of this.names) {
        const g = grads.get(name)
        if (!g) continue
        const p = this.store.get(name)
        const lr = lrOf(name)
        const m = this.m.get(name)!
        const v = this.v.get(name)!
        const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1))
        const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2))
        m.assign(m1)
        v.assign(v1)
        const decayed = weightDecay > 0 && p.rank > 1 ? tf.mul(p, 1 - lr * weightDecay) : p
        const denom = tf.add(tf.sqrt(tf.div(v1, bc2)), eps)
        p.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), lr / bc1)))
      }
    })
  }

  stateTensors(): Record<string, SafeTensor> {
    const out: Record<string, SafeTensor> = {}
    for (const name of this.names) {
      out[`m.${name}`] = f32Tensor(this.m.get(name)!.shape, this.m.get(name)!.dataSync() as Float32Array)
      out[`v.${name}`] = f32Tensor(this.v.get(name)!.shape, this.v.get(name)!.dataSync() as Float32Array)
    }
    return out
  }

  load(tensors: Record<string, SafeTensor>, step: number): void {
    const tf = this.store.tf
    for (const name of this.names) {
      for (const [prefix, map] of [
        ['m', this.m],
        ['v', this.v],
      ] as const) {
        const t = tensors[`${prefix}.${name}`]
        if (!t) throw new Error(`optimizer state lacks ${prefix}.${name}`)
        const variable = map.get(name)!
        tf.tidy(() => variable.assign(tf.tensor(toFloat32(t), variable.shape, 'float32')))
      }
    }
    this.step = step
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose()
  }
}
