/**
 * Named parameters as tfjs variables, with the same surface as the core's ParamStore (which the
 * core training loop, AdamW and the safetensors checkpoint use by name): the VLA model is not a
 * core Vlm, so it brings its own store. Values are drawn from the run's seeded RNG.
 */
import type {Rng, Tf, Variable} from '@rfm/plugin-api'

export interface SafeF32 {
  dtype: 'F32'
  shape: number[]
  bytes: Uint8Array
}

export class ParamStore {
  readonly vars = new Map<string, Variable>()

  constructor(readonly tf: Tf, private readonly rng: Rng) {}

  add(name: string, shape: number[], init: {kind: 'normal'; std: number} | {kind: 'zeros'} | {kind: 'ones'}): Variable {
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

  get(name: string): Variable {
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

  toSafe(): Record<string, SafeF32> {
    const out: Record<string, SafeF32> = {}
    for (const [name, v] of this.vars) {
      const values = v.dataSync() as Float32Array
      out[name] = {dtype: 'F32', shape: v.shape, bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength)}
    }
    return out
  }

  /** Exact assignment of every parameter (a checkpoint of this same model). */
  load(tensors: Record<string, {dtype: string; shape: number[]; bytes: Uint8Array}>): void {
    const missing = this.loadMatching(tensors)
    if (missing.length) throw new Error(`checkpoint lacks parameter ${missing[0]}`)
  }

  /**
   * Assigns the parameters the checkpoint has with the same shape and returns the names it lacks
   * (PyTorch's strict=False): stage 2 adds the sensor encoder and fusion to a stage-1 model.
   */
  loadMatching(tensors: Record<string, {dtype: string; shape: number[]; bytes: Uint8Array}>): string[] {
    const missing: string[] = []
    for (const [name, v] of this.vars) {
      const t = tensors[name]
      if (!t || t.dtype !== 'F32' || t.shape.join(',') !== v.shape.join(',')) {
        missing.push(name)
        continue
      }
      const values = new Float32Array(t.bytes.byteLength / 4)
      new Uint8Array(values.buffer).set(t.bytes)
      this.tf.tidy(() => v.assign(this.tf.tensor(values, v.shape, 'float32')))
    }
    return missing
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose()
    this.vars.clear()
  }
}
