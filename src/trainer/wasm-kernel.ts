/**
 * Replacing one of tfjs-backend-wasm's kernels with rfm's own (wasm-split, wasm-identity, wasm-sum):
 * once per process, and only where the wasm backend registered the kernel; the replacement gets the
 * original so it can hand it the cases it does not cover.
 */
import type * as tfTypes from '@tensorflow/tfjs-core'

const replaced = new Set<string>()

export function replaceWasmKernel(tf: typeof tfTypes, kernelName: string, make: (original: tfTypes.KernelConfig) => tfTypes.KernelFunc): void {
  const original = tf.getKernel(kernelName, 'wasm')
  if (replaced.has(kernelName) || !original) return
  replaced.add(kernelName)
  tf.unregisterKernel(kernelName, 'wasm')
  tf.registerKernel({...original, kernelFunc: make(original)})
}
