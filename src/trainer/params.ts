/**
 * Named parameters as explicit tfjs variables. Names follow Hugging Face style
 * ("text.blocks.0.attn.q.weight"); they key the safetensors files, the optimizer state, freezing
 * patterns, LoRA targets and parameter groups. Linear weights are stored [in, out] (tfjs matMul
 * order), i.e. transposed relative to torch.nn.Linear.
 */
import type * as tfTypes from '@tensorflow/tfjs-core'

import {f32Tensor, SafeTensor, toFloat32} from './formats/safetensors'
import {Rng} from './rng'

type Tf = typeof tfTypes

export type Init = {kind: 'normal'; std: number} | {kind: 'zeros'} | {kind: 'ones'}

/**
 * How linear weights start: 'gpt2' draws N(0, 0.02) whatever the width; 'fan_in' draws N(0, 1/in),
 * which keeps activations at unit scale in narrow models. At width 64, 0.02 shrinks every layer's
 * output about sixfold, so attention starts uniform and its query/key gradients (products of two such
 * small matrices) stay tiny: a small VLM then learns what averaging the image gives (a colour) but
 * sits for thousands of steps on anything that needs attention to pick regions out.
 */
export type LinearInit = 'gpt2' | 'fan_in'

export class ParamStore {
  readonly vars = new Map<string, tfTypes.Variable>()

  constructor(
    readonly tf: Tf,
    private readonly rng: Rng,
    readonly linearInit: LinearInit = 'gpt2',
  ) {}

  /** The initialiser of a linear layer's [in, out] weight under this store's policy. */
  linearWeightInit(inDim: number): Init {
    return {kind: 'normal', std: this.linearInit === 'fan_in' ? 1 / Math.sqrt(inDim) : 0.02}
  }

  add(name: string, shape: number[], init: Init): tfTypes.Variable {
    if (this.vars.has(name)) throw new Error(`parameter ${name} defined twice`)
    const size = shape.reduce((a, b) => a * b, 1)
    const values = new Float32Array(size)
    if (init.kind === 'ones') values.fill(1)
    else if (init.kind === 'normal') for (let i = 0; i < size; i++) values[i] = this.rng.normal() * init.std
    const initial = this.tf.tensor(values, shape, 'float32')
    const v = this.tf.variable(initial, true)
    initial.dispose()
    this.vars.set(name, v)
    return v
  }

  get(name: string): tfTypes.Variable {
    const v = this.vars.get(name)
    if (!v) throw new Error(`no parameter ${name}`)
    return v
  }

  has(name: string): boolean {
    return this.vars.has(name)
  }

  names(): string[] {
    return [...this.vars.keys()]
  }

  count(names: string[] = this.names()): number {
    return names.reduce((n, name) => n + this.get(name).size, 0)
  }

  /** Snapshot of every parameter as safetensors-ready F32 tensors (exact bytes). */
  toSafe(): Record<string, SafeTensor> {
    const out: Record<string, SafeTensor> = {}
    for (const [name, v] of this.vars) out[name] = f32Tensor(v.shape, v.dataSync() as Float32Array)
    return out
  }

  /** Assigns exact values; every stored parameter must be present with the same shape. */
  load(tensors: Record<string, SafeTensor>): void {
    for (const [name, v] of this.vars) {
      const t = tensors[name]
      if (!t) throw new Error(`checkpoint lacks parameter ${name}`)
      if (t.shape.join(',') !== v.shape.join(',')) throw new Error(`parameter ${name}: checkpoint shape [${t.shape}] ≠ model [${v.shape}]`)
      this.tf.tidy(() => v.assign(this.tf.tensor(toFloat32(t), v.shape, 'float32')))
    }
  }

  /**
   * Assigns the parameters the checkpoint has with the same shape and returns the names it lacks
   * (PyTorch's strict=False): e.g. a stage-2 model that adds modules to a stage-1 checkpoint.
   */
  loadMatching(tensors: Record<string, SafeTensor>): string[] {
    const missing: string[] = []
    for (const [name, v] of this.vars) {
      const t = tensors[name]
      if (!t || t.dtype !== 'F32' || t.shape.join(',') !== v.shape.join(',')) {
        missing.push(name)
        continue
      }
      this.tf.tidy(() => v.assign(this.tf.tensor(toFloat32(t), v.shape, 'float32')))
    }
    return missing
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose()
    this.vars.clear()
  }
}

/** Glob-style name pattern: `*` matches anything, otherwise a prefix or exact name. */
export function matchesPattern(name: string, pattern: string): boolean {
  if (pattern.includes('*')) {
    const re = new RegExp('^' + pattern.split('*').map(escapeRegex).join('.*') + '$')
    return re.test(name)
  }
  return name === pattern || name.startsWith(pattern.endsWith('.') ? pattern : pattern + '.')
}

export function matchesAny(name: string, patterns: string[]): boolean {
  return patterns.some((p) => matchesPattern(name, p))
}

function escapeRegex(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')
}
