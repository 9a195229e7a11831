/**
 * Gradient functions for the kernels our blocks use. tfjs-core's Node bundle ships none (the
 * `@tensorflow/tfjs` union package registers them); rather than pull in that package and its
 * layers/converter/webgl dependencies, we register our own — only where none is registered yet, so
 * tfjs-node's (which loads the union package) stay in charge there. Checked against finite
 * differences in test/unit/trainer/parts.test.ts.
 */
import type * as tfTypes from '@tensorflow/tfjs-core'

import {hasNativeMatMul} from './native-kernels'

type Tf = typeof tfTypes
type T = tfTypes.Tensor
type Grads = Record<string, () => T>
type Attrs = Record<string, any>

export function registerGradients(tf: Tf): string[] {
  /** sums a broadcast gradient back down to `shape` */
  const unbroadcast = (dy: T, shape: number[]): T => {
    const axes = tf.broadcast_util.getReductionAxes(shape, dy.shape)
    const summed = axes.length > 0 ? tf.sum(dy, axes) : dy
    return tf.reshape(summed, shape)
  }
  const binary =
    (f: (dy: T, a: T, b: T) => [T, T]) =>
    (dy: T, saved: T[]): Grads => {
      const [a, b] = saved
      return {a: () => unbroadcast(f(dy, a, b)[0], a.shape), b: () => unbroadcast(f(dy, a, b)[1], b.shape)}
    }
  /** gradient of a reduction: dy reshaped with the reduced axes kept, broadcast to x */
  const expandReduced = (dy: T, x: T, axis: number | number[] | null | undefined): T => {
    const axes = tf.util.parseAxisParam(axis ?? x.shape.map((_, i) => i), x.shape)
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
    return tf.mul(tf.reshape(dy, kept), tf.ones(x.shape))
  }

  const configs: {kernelName: string; inputsToSave?: string[]; outputsToSave?: boolean[]; saveAllInputs?: boolean; gradFunc: (dy: any, saved: T[], attrs: Attrs) => Grads}[] = [
    {kernelName: 'Add', inputsToSave: ['a', 'b'], gradFunc: binary((dy) => [dy, dy])},
    {kernelName: 'Sub', inputsToSave: ['a', 'b'], gradFunc: binary((dy) => [dy, tf.neg(dy)])},
    {kernelName: 'Multiply', inputsToSave: ['a', 'b'], gradFunc: binary((dy, a, b) => [tf.mul(dy, b), tf.mul(dy, a)])},
    {
      kernelName: 'RealDiv',
      inputsToSave: ['a', 'b'],
      gradFunc: binary((dy, a, b) => [tf.div(dy, b), tf.neg(tf.div(tf.mul(dy, a), tf.square(b)))]),
    },
    {
      kernelName: 'Maximum',
      inputsToSave: ['a', 'b'],
      gradFunc: binary((dy, a, b) => [tf.mul(dy, tf.cast(tf.greaterEqual(a, b), 'float32')), tf.mul(dy, tf.cast(tf.less(a, b), 'float32'))]),
    },
    {
      kernelName: 'SquaredDifference',
      inputsToSave: ['a', 'b'],
      gradFunc: binary((dy, a, b) => {
        const d = tf.mul(dy, tf.mul(tf.sub(a, b), 2))
        return [d, tf.neg(d)]
      }),
    },
    {
      kernelName: 'Pow',
      inputsToSave: ['a', 'b'],
      outputsToSave: [true],
      gradFunc: (dy: T, saved: T[]) => {
        const [a, b, y] = saved
        return {
          a: () => unbroadcast(tf.mul(dy, tf.mul(b, tf.pow(a, tf.sub(b, 1)))), a.shape),
          b: () => unbroadcast(tf.mul(dy, tf.mul(y, tf.where(tf.greater(a, 0), tf.log(a), tf.zerosLike(a)))), b.shape),
        }
      },
    },
    {kernelName: 'Neg', gradFunc: (dy: T) => ({x: () => tf.neg(dy)})},
    {kernelName: 'Square', inputsToSave: ['x'], gradFunc: (dy: T, [x]: T[]) => ({x: () => tf.mul(dy, tf.mul(x, 2))})},
    {kernelName: 'Sqrt', inputsToSave: ['x'], gradFunc: (dy: T, [x]: T[]) => ({x: () => tf.div(dy, tf.mul(tf.sqrt(x), 2))})},
    {kernelName: 'Rsqrt', outputsToSave: [true], gradFunc: (dy: T, [y]: T[]) => ({x: () => tf.mul(dy, tf.mul(tf.mul(y, tf.square(y)), -0.5))})},
    {kernelName: 'Tanh', outputsToSave: [true], gradFunc: (dy: T, [y]: T[]) => ({x: () => tf.mul(dy, tf.sub(1, tf.square(y)))})},
    {kernelName: 'Sigmoid', outputsToSave: [true], gradFunc: (dy: T, [y]: T[]) => ({x: () => tf.mul(dy, tf.mul(y, tf.sub(1, y)))})},
    {kernelName: 'Exp', outputsToSave: [true], gradFunc: (dy: T, [y]: T[]) => ({x: () => tf.mul(dy, y)})},
    {kernelName: 'Log', inputsToSave: ['x'], gradFunc: (dy: T, [x]: T[]) => ({x: () => tf.div(dy, x)})},
    {kernelName: 'Cast', gradFunc: (dy: T) => ({x: () => tf.clone(dy)})},
    {kernelName: 'Identity', gradFunc: (dy: T) => ({x: () => tf.clone(dy)})},
    {kernelName: 'Reshape', inputsToSave: ['x'], gradFunc: (dy: T, [x]: T[]) => ({x: () => tf.reshape(dy, x.shape)})},
    {
      kernelName: 'Transpose',
      gradFunc: (dy: T, _s: T[], attrs: Attrs) => {
        const perm = attrs.perm as number[]
        const inverse = perm.map((_, i) => perm.indexOf(i))
        return {x: () => tf.transpose(dy, inverse)}
      },
    },
    {
      kernelName: 'BatchMatMul',
      inputsToSave: ['a', 'b'],
      gradFunc: (dy: T, [a, b]: T[], attrs: Attrs) => {
        const {transposeA: ta, transposeB: tb} = attrs as {transposeA: boolean; transposeB: boolean}
        const mm = (x: T, y: T, tx: boolean, ty: boolean) => matMulT(tf, x, y, tx, ty)
        const da = () => (!ta && !tb ? mm(dy, b, false, true) : !ta && tb ? mm(dy, b, false, false) : ta && !tb ? mm(b, dy, false, true) : mm(b, dy, true, true))
        const db = () => (!ta && !tb ? mm(a, dy, true, false) : !ta && tb ? mm(dy, a, true, false) : ta && !tb ? mm(a, dy, false, false) : mm(dy, a, true, true))
        // batch dimensions that were broadcast are summed back
        const fit = (g: T, shape: number[]) => (g.rank === shape.length && g.shape.every((d, i) => d === shape[i]) ? g : reduceBatch(g, shape))
        const reduceBatch = (g: T, shape: number[]) => {
          const lead = g.rank - shape.length
          const summed =
            lead > 0
              ? tf.sum(
                  g,
                  Array.from({length: lead}, (_, i) => i),
                )
              : g
          return unbroadcast(summed, shape)
        }
        return {a: () => fit(da(), a.shape), b: () => fit(db(), b.shape)}
      },
    },
    {
      kernelName: 'GatherV2',
      inputsToSave: ['x', 'indices'],
      gradFunc: (dy: T, [x, indices]: T[], attrs: Attrs) => {
        if (attrs.axis !== 0 || (attrs.batchDims ?? 0) !== 0) throw new Error('gather gradient: only axis 0 without batch dims is supported')
        return {
          x: () => {
            // oneHotᵀ·dy rather than unsortedSegmentSum, which the wasm backend lacks; vocabularies here are small
            const rows = tf.reshape(dy, [indices.size, -1])
            const oneHot = tf.oneHot(tf.reshape(tf.cast(indices, 'int32'), [-1]) as tfTypes.Tensor1D, x.shape[0], 1, 0, 'float32')
            return tf.reshape(matMulT(tf, oneHot, rows, true, false), x.shape)
          },
          indices: () => tf.cast(tf.zerosLike(indices), 'float32'),
        }
      },
    },
    {
      kernelName: 'Concat',
      saveAllInputs: true,
      gradFunc: (dy: T, saved: T[], attrs: Attrs) => {
        const axis = tf.util.parseAxisParam(attrs.axis, saved[0].shape)[0]
        const parts = tf.split(
          dy,
          saved.map((s) => s.shape[axis]),
          axis,
        )
        return Object.fromEntries(parts.map((p, i) => [String(i), () => p]))
      },
    },
    {
      // multi-output: dy is one gradient per piece (zeros where a piece was unused)
      kernelName: 'SplitV',
      gradFunc: (dy: T[], _s: T[], attrs: Attrs) => ({x: () => tf.concat(dy, attrs.axis as number)}),
    },
    {
      kernelName: 'AddN',
      saveAllInputs: true,
      gradFunc: (dy: T, saved: T[]) => Object.fromEntries(saved.map((_, i) => [String(i), () => tf.clone(dy)])),
    },
    {
      kernelName: 'Slice',
      inputsToSave: ['x'],
      gradFunc: (dy: T, [x]: T[], attrs: Attrs) => {
        const begin = x.shape.map((_, i) => (Array.isArray(attrs.begin) ? attrs.begin[i] : i === 0 ? attrs.begin : 0) as number)
        const paddings = x.shape.map((d, i) => [begin[i], d - begin[i] - dy.shape[i]] as [number, number])
        return {x: () => tf.pad(dy, paddings)}
      },
    },
    {
      kernelName: 'Softmax',
      outputsToSave: [true],
      gradFunc: (dy: T, [y]: T[], attrs: Attrs) => ({
        logits: () => tf.mul(y, tf.sub(dy, tf.sum(tf.mul(dy, y), attrs.dim as number, true))),
      }),
    },
    {kernelName: 'Sum', inputsToSave: ['x'], gradFunc: (dy: T, [x]: T[], attrs: Attrs) => ({x: () => expandReduced(dy, x, attrs.axis)})},
    {
      kernelName: 'Mean',
      inputsToSave: ['x'],
      gradFunc: (dy: T, [x]: T[], attrs: Attrs) => {
        const axes = tf.util.parseAxisParam(attrs.axis ?? x.shape.map((_: number, i: number) => i), x.shape)
        const count = axes.reduce((n, a) => n * x.shape[a], 1)
        return {x: () => tf.div(expandReduced(dy, x, axes), count)}
      },
    },
  ]
  const added: string[] = []
  for (const config of configs) {
    if (tf.getGradient(config.kernelName) !== undefined) continue
    tf.registerGradient(config as unknown as tfTypes.GradConfig)
    added.push(config.kernelName)
  }
  return added
}

/**
 * matMul with explicit transposes: tfjs-backend-wasm's transposeA/transposeB path is 10–60× slower
 * than a transpose followed by a plain product (measured: 2 vs 35 GFLOP/s at 2048×256×1024).
 */
export function matMulT(tf: Tf, a: T, b: T, transposeA = false, transposeB = false): T {
  // OpenBLAS's products take transposed operands as flags, at full speed (native-kernels.ts)
  if (hasNativeMatMul(tf)) return tf.matMul(a, b, transposeA, transposeB)
  const swapLast = (x: T) =>
    tf.transpose(
      x,
      [...x.shape.keys()].map((i) => (i < x.rank - 2 ? i : i === x.rank - 2 ? x.rank - 1 : x.rank - 2)),
    )
  // batched (rank > 2) products stay one kernel call: splitting them into 2-D products measured slower end to end
  return tf.matMul(transposeA ? swapLast(a) : a, transposeB ? swapLast(b) : b)
}
