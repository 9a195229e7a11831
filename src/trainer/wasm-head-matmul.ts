/**
 * Per-head attention products as ONE kernel call on the wasm backend. tfjs-wasm runs a product in
 * XNNPACK only when it is rank-2 without transposes (batch 1 on both sides); any batched product
 * goes to a naive loop. `RfmHeadMatMul` takes a [N, m, k] and b [N, k, n] and, for each of the N
 * heads, calls the same wasm BatchMatMul entry point on views of the heap (tensor ids registered
 * over each head's slice, no copies), so every head runs the XNNPACK product that a split into N
 * rank-2 products ran, with the same operands and flags: bitwise the same results as that split,
 * without its 4N+2 split/reshape/concat kernels and their copies per product.
 */
import type * as tfTypes from '@tensorflow/tfjs-core'

export const HEAD_MATMUL = 'RfmHeadMatMul'

interface WasmHeap {
  dataIdNextNumber: number
  dataIdMap: {get(dataId: unknown): {memoryOffset: number}}
  makeOutput(shape: number[], dtype: string): tfTypes.TensorInfo
  wasm: {
    cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void
    tfjs: {registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void}
  }
}

let registered = false

export function registerWasmHeadMatMul(tf: typeof tfTypes): void {
  if (registered || !tf.getKernel('BatchMatMul', 'wasm')) return
  registered = true
  let batchMatMul: ((...args: unknown[]) => void) | undefined
  const shapeBytes = (s: number[]) => new Uint8Array(new Int32Array(s).buffer)
  tf.registerKernel({
    kernelName: HEAD_MATMUL,
    backendName: 'wasm',
    kernelFunc: ({inputs, backend: b}) => {
      const backend = b as unknown as WasmHeap
      const {a, b: bIn} = inputs as {a: tfTypes.TensorInfo; b: tfTypes.TensorInfo}
      const [heads, m, k] = a.shape
      const n = bIn.shape[2]
      // the exported C function tfjs-wasm's own BatchMatMul kernel calls (same argument list)
      batchMatMul ??= backend.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number'])
      const out = backend.makeOutput([heads, m, n], 'float32')
      // offsets only after the allocation (it may grow the heap; offsets stay valid, views would not)
      const base = [a, bIn, out].map((t) => backend.dataIdMap.get(t.dataId).memoryOffset)
      const aShape = shapeBytes([1, m, k])
      const bShape = shapeBytes([1, k, n])
      const sizes = [m * k, k * n, m * n]
      for (let h = 0; h < heads; h++) {
        const ids = sizes.map((size, i) => {
          const id = backend.dataIdNextNumber++
          backend.wasm.tfjs.registerTensor(id, size, base[i] + 4 * h * size)
          return id
        })
        batchMatMul(ids[0], aShape, 3, ids[1], bShape, 3, false, false, ids[2])
        // unregisters the views (their memory belongs to a, b and out) and drops the XNNPACK operator cached on b's id
        for (const id of ids) backend.wasm.tfjs.disposeData(id)
      }
      return out
    },
  })
  tf.registerGradient({
    kernelName: HEAD_MATMUL,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved
      const dc = dy as tfTypes.Tensor
      // the products the split's rank-2 gradients ran: dA_h = dC_h·B_hᵀ, dB_h = A_hᵀ·dC_h
      return {a: () => headMatMul(tf, dc, tf.transpose(b, [0, 2, 1])), b: () => headMatMul(tf, tf.transpose(a, [0, 2, 1]), dc)}
    },
  })
}

/** a [N, m, k] · b [N, k, n] → [N, m, n], one XNNPACK product per leading index (wasm; see above). */
export function headMatMul(tf: typeof tfTypes, a: tfTypes.Tensor, b: tfTypes.Tensor): tfTypes.Tensor {
  return tf.engine().runKernel(HEAD_MATMUL, {a, b}, {}) as tfTypes.Tensor
}

/** Whether the fused kernel serves the current backend. */
export function hasHeadMatMul(tf: typeof tfTypes): boolean {
  return tf.getBackend() === 'wasm' && tf.getKernel(HEAD_MATMUL, 'wasm') !== undefined
}
