/**
 * tfjs-backend-wasm's SplitV (and Unpack) slice each piece with a kernel that first copies the
 * WHOLE input out of the wasm heap (readSync): splitting into n pieces copies the input n times
 * (measured: 24 splits of [64,128,64] into 64 pieces took most of a per_head attention step). This
 * SplitV copies the input once and writes each piece: the same values, so results are unchanged.
 */
import type * as tfTypes from '@tensorflow/tfjs-core'

import {replaceWasmKernel} from './wasm-kernel'

interface WasmBackend {
  readSync(dataId: unknown): Float32Array | Int32Array | Uint8Array
  makeOutput(shape: number[], dtype: string): tfTypes.TensorInfo
  typedArrayFromHeap(t: tfTypes.TensorInfo): Float32Array | Int32Array | Uint8Array
}

export function patchWasmSplit(tf: typeof tfTypes): void {
  replaceWasmKernel(tf, 'SplitV', (original) => (args) => {
    const x = args.inputs.x as tfTypes.TensorInfo
    if (x.dtype === 'string') return original.kernelFunc(args)
    const backend = args.backend as unknown as WasmBackend
    const {numOrSizeSplits, axis: axisAttr} = args.attrs as unknown as {numOrSizeSplits: number | number[]; axis: number}
    const axis = tf.util.parseAxisParam(axisAttr, x.shape)[0]
    const dim = x.shape[axis]
    let sizes: number[]
    if (typeof numOrSizeSplits === 'number') sizes = Array.from({length: numOrSizeSplits}, () => dim / numOrSizeSplits)
    else {
      const known = numOrSizeSplits.reduce((a, s) => (s === -1 ? a : a + s), 0)
      sizes = numOrSizeSplits.map((s) => (s === -1 ? dim - known : s))
    }
    const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1)
    const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1)
    const xVals = backend.readSync(x.dataId)
    const outs = sizes.map((s) =>
      backend.makeOutput(
        x.shape.map((d, i) => (i === axis ? s : d)),
        x.dtype,
      ),
    )
    // views of the heap only after every allocation (an allocation may grow and move the heap)
    let offset = 0
    outs.forEach((out, k) => {
      const s = sizes[k]
      const outVals = backend.typedArrayFromHeap(out)
      for (let r = 0; r < outer; r++) outVals.set(xVals.subarray((r * dim + offset) * inner, (r * dim + offset + s) * inner), r * s * inner)
      offset += s
    })
    return outs
  })
}
