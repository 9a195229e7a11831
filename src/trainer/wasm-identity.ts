/**
 * tfjs-wasm's Identity copies its input into a new heap buffer. The engine clones (Identity) every
 * input and output it saves for the backward pass, so a training step copied each saved activation
 * once more (451 Identity calls per step of the bench model). tfjs tensors are immutable (a
 * Variable's assign swaps its data id; no kernel writes into an input), so, like tfjs-backend-cpu's
 * Identity, this one shares the input's buffer and counts a reference: the same values, no copy.
 */
import type * as tfTypes from '@tensorflow/tfjs-core'

import {replaceWasmKernel} from './wasm-kernel'

interface RefCounted {
  incRef(dataId: unknown): void
}

export function patchWasmIdentity(tf: typeof tfTypes): void {
  replaceWasmKernel(tf, 'Identity', (original) => (args) => {
    const x = args.inputs.x as tfTypes.TensorInfo
    if (x.dtype === 'string') return original.kernelFunc(args)
    ;(args.backend as unknown as RefCounted).incRef(x.dataId)
    return {dataId: x.dataId, shape: x.shape, dtype: x.dtype}
  })
}
