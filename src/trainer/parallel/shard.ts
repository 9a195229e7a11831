/** One shard's loss and gradients: the same code on the main thread and in every worker. */
import type * as tfTypes from '@tensorflow/tfjs-core'

import {Rng} from '../rng'
import type {TrainableModel, TrainingTask} from '../task'

/** The RNG of shard `k` of a micro-batch whose seed the run's RNG drew: a pure function of both. */
export function shardRng(seed: number, k: number): Rng {
  return Rng.derive(seed, 0x5a4d, k)
}

/** Loss of `indices` and its gradients by parameter name (parameters the loss does not touch are absent). */
export function shardGradients<M extends TrainableModel>(
  tf: typeof tfTypes,
  model: M,
  task: TrainingTask<M>,
  names: string[],
  indices: number[],
  rng: Rng,
): {loss: number; grads: Map<string, tfTypes.Tensor>} {
  const vars = names.map((n) => model.store.get(n))
  const nameOf = new Map(vars.map((v, i) => [v.name, names[i]]))
  const {value, grads} = tf.variableGrads(() => tf.tidy(() => task.loss(model, indices, rng)), vars)
  const loss = value.dataSync()[0]
  value.dispose()
  return {loss, grads: new Map(Object.entries(grads).map(([k, g]) => [nameOf.get(k)!, g]))}
}
