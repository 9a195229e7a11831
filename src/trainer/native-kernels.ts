/**
 * Kernels of the wasm backend in native code (native/kernels.c, built by `npm run compile` when a C
 * compiler is present), working directly on the wasm heap:
 * - matrix products in the machine's OpenBLAS. tfjs-wasm's own (XNNPACK, 128-bit wasm SIMD, no FMA)
 *   ran at ~0.3× of OpenBLAS per core on this machine's AVX-512 CPU, and products are most of a
 *   training step. Transposed operands go to sgemm as flags, so the trainer needs no explicit
 *   transposes before a product (matMulT, perHeadMatMul). Float results differ from XNNPACK's in the
 *   last bits; a run is bitwise reproducible with the same products on the same machine (one OpenBLAS
 *   thread per worker: a fixed summation order).
 * - sums over leading axes (wasm-sum.ts) and row gathers (the embedding lookup): bitwise what the
 *   kernels they replace compute, without tfjs-wasm's per-element index arithmetic;
 *
 * `RFM_NATIVE`: `auto` (default: whatever loads — the module, and OpenBLAS for the products), `off`
 * (tfjs-wasm's kernels only: the numerics of a build without the module), `on` (fail unless the
 * module and OpenBLAS load). `RFM_OPENBLAS` names the library file (default libopenblas.so.0).
 */
import * as path from 'node:path'

import type * as tfTypes from '@tensorflow/tfjs-core'

import {replaceWasmKernel} from './wasm-kernel'

/** Byte offsets into the heap travel in the Int32Array as their low 32 bits and are read unsigned. */
export interface NativeKernels {
  info(): {available: boolean; library: string; config: string; error: string}
  /** dims: batch, transA, transB, m, n, k, aOffset, aStride, bOffset, bStride, cOffset, cStride, accumulate */
  sgemm(heap: ArrayBuffer, dims: Int32Array): void
  /** dims: rows, width, xOffset, outOffset */
  sumRows(heap: ArrayBuffer, dims: Int32Array): void
  /** dims: count, width, tableRows, tableOffset, indicesOffset, outOffset; false when an index is out of range */
  gatherRows(heap: ArrayBuffer, dims: Int32Array): boolean
}

interface WasmBackend {
  disposeData?(dataId: unknown): void
  dataIdMap: {get(dataId: unknown): {memoryOffset: number}}
  makeOutput(shape: number[], dtype: string): tfTypes.TensorInfo
  wasm: {HEAPU8: Uint8Array}
}

/** Where `npm run compile` puts the module (scripts/build-native.js). */
export const NATIVE_MODULE = path.join(__dirname, '..', '..', 'native', 'rfm_native.node')

export type NativeMode = 'auto' | 'off' | 'on'

export function nativeMode(): NativeMode {
  const wanted = (process.env.RFM_NATIVE ?? 'auto').trim() || 'auto'
  if (wanted !== 'auto' && wanted !== 'off' && wanted !== 'on') throw new Error(`RFM_NATIVE must be auto, off or on, got "${wanted}"`)
  return wanted
}

let loadedModule: {kernels?: NativeKernels; why: string} | undefined

/** The native module (once per thread) per RFM_NATIVE, or why it is not used. */
export function loadNativeKernels(): {kernels?: NativeKernels; why: string} {
  if (loadedModule) return loadedModule
  const mode = nativeMode()
  if (mode === 'off') return (loadedModule = {why: 'RFM_NATIVE=off'})
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (loadedModule = {kernels: require(NATIVE_MODULE) as NativeKernels, why: ''})
  } catch (error) {
    const first = (error as Error).message.split('\n')[0]
    const why = `${path.relative(process.cwd(), NATIVE_MODULE)} did not load (${first}); \`npm run compile\` builds it when a C compiler is present`
    if (mode === 'on') throw new Error(`RFM_NATIVE=on: ${why}`)
    return (loadedModule = {why})
  }
}

let openBlas: {kernels?: NativeKernels; description: string} | undefined

/** The products' provider: OpenBLAS's kernels, or none, with a description either way. */
export function loadOpenBlas(): {kernels?: NativeKernels; description: string} {
  if (openBlas) return openBlas
  const {kernels, why} = loadNativeKernels()
  if (!kernels) return (openBlas = {description: `tfjs (${why})`})
  const info = kernels.info()
  if (info.available) {
    // e.g. "OpenBLAS 0.3.21 (Cooperlake kernels, libopenblas.so.0)" from openblas_get_config/corename
    const version = /^OpenBLAS (\S+)/.exec(info.config)?.[1]
    const core = /core=(\S+)/.exec(info.config)?.[1]
    const details = [core ? `${core} kernels` : undefined, info.library].filter(Boolean).join(', ')
    return (openBlas = {kernels, description: `OpenBLAS${version ? ` ${version}` : ''} (${details})`})
  }
  if (nativeMode() === 'on') throw new Error(`RFM_NATIVE=on: OpenBLAS did not load: ${info.error}`)
  return (openBlas = {description: `tfjs (OpenBLAS did not load: ${info.error})`})
}

const active = new WeakSet<object>()

/** Whether this tfjs instance's wasm products run in OpenBLAS. */
export function hasNativeMatMul(tf: typeof tfTypes): boolean {
  return tf.getBackend() === 'wasm' && active.has(tf)
}

/** Replaces the wasm BatchMatMul with OpenBLAS's when it loads; returns the provider's description. */
export function patchWasmMatMul(tf: typeof tfTypes): string {
  const {kernels, description} = loadOpenBlas()
  if (!kernels) return description
  active.add(tf)
  const dims = new Int32Array(13)
  replaceWasmKernel(tf, 'BatchMatMul', (original) => (args) => {
    const {a, b} = args.inputs as {a: tfTypes.TensorInfo; b: tfTypes.TensorInfo}
    const {transposeA, transposeB} = args.attrs as unknown as {transposeA: boolean; transposeB: boolean}
    const ra = a.shape.length
    const rb = b.shape.length
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || ra < 2 || rb < 2) return original.kernelFunc(args)
    const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2]
    const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1]
    const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1]
    if (k !== (transposeB ? b.shape[rb - 1] : b.shape[rb - 2])) return original.kernelFunc(args) // tfjs's own message
    const leadA = a.shape.slice(0, -2)
    const leadB = b.shape.slice(0, -2)
    const countA = leadA.reduce((x, y) => x * y, 1)
    const countB = leadB.reduce((x, y) => x * y, 1)
    // equal batches, or one matrix against a batch; other broadcasts stay with tfjs
    const same = leadA.length === leadB.length && leadA.every((d, i) => d === leadB[i])
    if (!same && countA !== 1 && countB !== 1) return original.kernelFunc(args)
    const backend = args.backend as unknown as WasmBackend
    const out = backend.makeOutput([...(countA >= countB ? leadA : leadB), m, n], 'float32')
    // offsets and the heap only after the allocation (it may grow the heap and detach the old buffer)
    const offset = (t: tfTypes.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset
    dims.set([Math.max(countA, countB), transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k])
    dims.set([offset(a), countA === 1 ? 0 : m * k, offset(b), countB === 1 ? 0 : k * n, offset(out), m * n, 0], 6)
    kernels.sgemm(backend.wasm.HEAPU8.buffer as ArrayBuffer, dims)
    return out
  })
  return description
}

const offsetOf = (backend: WasmBackend, t: tfTypes.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset

/** Gathers of whole rows (axis 0, int32 indices in range) as one copy per row; others stay with tfjs. */
export function patchWasmGather(tf: typeof tfTypes): void {
  const {kernels} = loadNativeKernels()
  if (!kernels) return
  const dims = new Int32Array(6)
  replaceWasmKernel(tf, 'GatherV2', (original) => (args) => {
    const {x, indices} = args.inputs as {x: tfTypes.TensorInfo; indices: tfTypes.TensorInfo}
    const {axis, batchDims} = args.attrs as unknown as {axis: number; batchDims?: number}
    const rank = x.shape.length
    const fits = (axis === 0 || axis === -rank) && !batchDims && rank >= 1 && indices.dtype === 'int32' && (x.dtype === 'float32' || x.dtype === 'int32')
    if (!fits) return original.kernelFunc(args)
    const backend = args.backend as unknown as WasmBackend
    const width = x.shape.slice(1).reduce((a, b) => a * b, 1)
    const count = indices.shape.reduce((a, b) => a * b, 1)
    const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype)
    dims.set([count, width, x.shape[0], offsetOf(backend, x), offsetOf(backend, indices), offsetOf(backend, out)])
    if (kernels.gatherRows(backend.wasm.HEAPU8.buffer as ArrayBuffer, dims)) return out
    backend.disposeData?.(out.dataId)
    return original.kernelFunc(args) // an index out of range: tfjs's behaviour, whatever it is
  })
}
