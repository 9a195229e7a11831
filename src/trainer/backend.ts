/**
 * Picks the tfjs backend: tensorflow (tfjs-node-gpu, then tfjs-node) → wasm → cpu, or the one
 * named by `trainer.backend`. tfjs and its backends are imported here lazily so nothing heavy loads
 * at CLI start-up.
 */
import type * as tfTypes from '@tensorflow/tfjs-core'

export type BackendName = 'tensorflow' | 'wasm' | 'cpu'
export type BackendPreference = BackendName | 'auto'

export interface SelectedBackend {
  name: BackendName
  /** which package provides it, e.g. "@tensorflow/tfjs-node-gpu" */
  provider: string
  /** wasm only: worker threads in use (1 = single-threaded) */
  threads?: number
  /** wasm only: who computes matrix products (OpenBLAS through native-kernels.ts, or tfjs's XNNPACK), in words */
  matmul?: string
  /** wasm only: the products' provider, recorded in checkpoints (their float results differ in the last bits) */
  products?: 'openblas' | 'tfjs'
  tf: typeof tfTypes
}

import {registerGradients} from './gradients'
import {hasNativeMatMul, loadOpenBlas, patchWasmGather, patchWasmMatMul} from './native-kernels'
import {registerWasmHeadMatMul} from './wasm-head-matmul'
import {patchWasmIdentity} from './wasm-identity'
import {patchWasmSum} from './wasm-sum'
import {patchWasmSplit} from './wasm-split'

type Tf = typeof tfTypes

async function tryTensorflow(): Promise<{tf: Tf; provider: string} | undefined> {
  for (const provider of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      // a variable specifier keeps tsc from requiring the optional package's types
      const mod = (await import(provider)) as Tf
      registerGradients(mod)
      if (await mod.setBackend('tensorflow')) return {tf: mod, provider}
    } catch {
      // not installed (optionalDependency) or libtensorflow missing: fall through
    }
  }
  return undefined
}

async function core(): Promise<Tf> {
  const tf = await import('@tensorflow/tfjs-core')
  registerGradients(tf)
  return tf
}

let pending: Promise<unknown> = Promise.resolve()

/**
 * Selects and initialises a backend; throws when an explicitly requested one cannot start. Calls are
 * serialised: tfjs has one global backend, and two initialisations at once make the second fail.
 */
export function selectBackend(preference: BackendPreference = 'auto'): Promise<SelectedBackend> {
  const next = pending.then(() => select(preference))
  pending = next.catch(() => undefined)
  return next
}

async function select(preference: BackendPreference): Promise<SelectedBackend> {
  if (preference === 'auto' || preference === 'tensorflow') {
    const found = await tryTensorflow()
    if (found) {
      await found.tf.ready()
      return {name: 'tensorflow', provider: found.provider, tf: found.tf}
    }
    if (preference === 'tensorflow') {
      throw new Error('backend "tensorflow" needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, and neither loads here')
    }
  }
  const tf = await core()
  if (preference === 'auto' || preference === 'wasm') {
    loadOpenBlas() // a bad RFM_NATIVE, or RFM_NATIVE=on that cannot load, fails here rather than falling back to cpu
    try {
      const wasm = await import('@tensorflow/tfjs-backend-wasm')
      if (await quietly(() => tf.setBackend('wasm'))) {
        await tf.ready()
        patchWasmSplit(tf)
        registerWasmHeadMatMul(tf)
        patchWasmIdentity(tf)
        patchWasmSum(tf)
        patchWasmGather(tf)
        const matmul = patchWasmMatMul(tf)
        const products = hasNativeMatMul(tf) ? 'openblas' : 'tfjs'
        return {name: 'wasm', provider: '@tensorflow/tfjs-backend-wasm', threads: wasm.getThreadsCount(), matmul, products, tf}
      }
    } catch (error) {
      if (preference === 'wasm') throw error
    }
    if (preference === 'wasm') throw new Error('backend "wasm" failed to initialise')
  }
  await import('@tensorflow/tfjs-backend-cpu')
  if (!(await quietly(() => tf.setBackend('cpu')))) throw new Error('backend "cpu" failed to initialise')
  await tf.ready()
  return {name: 'cpu', provider: '@tensorflow/tfjs-backend-cpu', tf}
}

/** tfjs prints a "you are running in Node, use tfjs-node" banner for cpu/wasm; it is not news to us. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const warn = console.warn
  const log = console.log
  console.warn = () => undefined
  console.log = () => undefined
  try {
    return await fn()
  } finally {
    console.warn = warn
    console.log = log
  }
}

export function describeBackend(b: SelectedBackend): string {
  const threads = b.threads !== undefined ? `, ${b.threads} thread${b.threads === 1 ? '' : 's'}` : ''
  return `${b.name} (${b.provider}${threads}${b.matmul ? `; products: ${b.matmul}` : ''})`
}
