/**
 * LoRA adapters (Hu et al. 2021): a frozen linear W [in, out] gains A [in, r] and B [r, out];
 * y = xW + b + dropout(x)·A·B·(alpha / r). B starts at zero so training starts from the base model.
 * Rank 0 means full fine-tuning (no adapters). Merge-on-export folds A·B·scale into W.
 */
import {ParamStore} from './params'
import {Rng} from './rng'

export interface LoraConfig {
  rank: number
  alpha: number
  dropout: number
  /** module names (last path component, e.g. "q", "fc1") or glob patterns over the module path */
  targetModules: string[]
  /** parameters trained in full besides the adapters (e.g. a task head) */
  modulesToSave: string[]
}

export const LORA_A = '.lora_A'
export const LORA_B = '.lora_B'

export function isLoraTarget(modulePath: string, lora: LoraConfig | undefined): boolean {
  if (!lora || lora.rank <= 0) return false
  const last = modulePath.split('.').pop()!
  return lora.targetModules.some((t) => (t.includes('*') || t.includes('.') ? globMatch(modulePath, t) : t === last))
}

function globMatch(name: string, pattern: string): boolean {
  const re = new RegExp(
    '^' +
      pattern
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*') +
      '$',
  )
  return re.test(name)
}

/** Adds adapter parameters for a target module; A ~ N(0, 1/in) (a scaled Kaiming-like init), B = 0. */
export function addLoraParams(store: ParamStore, modulePath: string, inDim: number, outDim: number, lora: LoraConfig): void {
  store.add(modulePath + LORA_A, [inDim, lora.rank], {kind: 'normal', std: 1 / Math.sqrt(inDim)})
  store.add(modulePath + LORA_B, [lora.rank, outDim], {kind: 'zeros'})
}

export function isLoraParam(name: string): boolean {
  return name.endsWith(LORA_A) || name.endsWith(LORA_B)
}

/**
 * The weights with every adapter merged into its base weight and the adapter tensors dropped —
 * what a user deploys. Computed in float64 on the host so the export does not depend on the backend.
 */
export function mergedWeights(store: ParamStore, lora: Pick<LoraConfig, 'rank' | 'alpha'>): Map<string, {shape: number[]; values: Float32Array}> {
  const out = new Map<string, {shape: number[]; values: Float32Array}>()
  const scale = lora.alpha / lora.rank
  for (const name of store.names()) {
    if (isLoraParam(name)) continue
    const v = store.get(name)
    const values = Float32Array.from(v.dataSync() as Float32Array)
    const module = name.replace(/\.weight$/, '')
    if (name.endsWith('.weight') && store.has(module + LORA_A)) {
      const [inDim, outDim] = v.shape
      const a = store.get(module + LORA_A).dataSync() as Float32Array
      const b = store.get(module + LORA_B).dataSync() as Float32Array
      const r = lora.rank
      for (let i = 0; i < inDim; i++) {
        for (let o = 0; o < outDim; o++) {
          let s = 0
          for (let k = 0; k < r; k++) s += a[i * r + k] * b[k * outDim + o]
          values[i * outDim + o] += s * scale
        }
      }
    }
    out.set(name, {shape: v.shape, values})
  }
  return out
}

/** Inverted-dropout keep mask drawn from our RNG (so it is reproducible and resumable). */
export function dropoutMask(rng: Rng, size: number, rate: number): Float32Array {
  const mask = new Float32Array(size)
  const keep = 1 - rate
  for (let i = 0; i < size; i++) mask[i] = rng.next() < keep ? 1 / keep : 0
  return mask
}
