/**
 * The VLA training task on the core loop: a weighted MSE over the 8 × 7 action chunk (samples with
 * sensor data weigh sensor_loss_weight), the balanced sampler as a fixed list of "virtual" indices
 * the core loop shuffles each epoch, and held-out metrics (loss, action MAE overall and on the
 * sensor-dependent steps of sensor sessions).
 */
import {VlaModel} from './model'
import {sensorBatch, VlaDataset} from './sessions'
import type {Rng, Tensor} from '@rfm/plugin-api'

export type Sampler = 'random' | 'balanced'

/**
 * The epoch's index list over the training samples. `balanced` repeats each sensor sample
 * round(without ÷ with) times (PyTorch's WeightedRandomSampler weights, made exact and resumable).
 */
export function samplerIndices(data: VlaDataset, train: number[], sampler: Sampler): {indices: number[]; weight: number} {
  const withSensor = train.filter((i) => data.samples[i].hasSensor)
  const without = train.length - withSensor.length
  if (sampler === 'random' || withSensor.length === 0 || without === 0) return {indices: [...train], weight: 1}
  const weight = Math.max(1, Math.round(without / withSensor.length))
  const indices: number[] = []
  for (const i of train) {
    const times = data.samples[i].hasSensor ? weight : 1
    for (let k = 0; k < times; k++) indices.push(i)
  }
  return {indices, weight}
}

export interface VlaTaskOptions {
  sensorEnabled: boolean
  sensorLossWeight: number
  sampler: Sampler
}

export class VlaTask {
  readonly train: number[]
  readonly val: number[]
  /** virtual index (what the core loop shuffles) → sample index */
  readonly virtual: number[]
  readonly sensorWeight: number
  /** sensor samples seen since the counter was last read (one optimizer step's micro-batches) */
  sensorSeen = 0
  private readonly perSample: number

  constructor(
    readonly data: VlaDataset,
    readonly features: Float32Array,
    readonly model: VlaModel,
    readonly options: VlaTaskOptions,
  ) {
    this.train = []
    this.val = []
    data.samples.forEach((s, i) => (data.valSessions.has(s.session) ? this.val : this.train).push(i))
    const {indices, weight} = samplerIndices(data, this.train, options.sampler)
    this.virtual = indices
    this.sensorWeight = weight
    this.perSample = (data.views + 1) * model.config.featureDim
  }

  /** the loss is a mean weighted by sensor_loss_weight: a shard's share of the batch is its weight (virtual indices) */
  lossWeight(indices: number[]): number {
    return indices.reduce((sum, v) => sum + (this.data.samples[this.virtual[v]].hasSensor ? this.options.sensorLossWeight : 1), 0)
  }

  /** a worker replica's sensor-sample count since the last call (the trainer hands it to the run's task) */
  drainShardStats(): number {
    const n = this.sensorSeen
    this.sensorSeen = 0
    return n
  }

  mergeShardStats(stats: unknown): void {
    this.sensorSeen += stats as number
  }

  get trainSize(): number {
    return this.virtual.length
  }

  /** Fraction of sensor samples among the first `consumed` entries of an epoch's order. */
  sensorRatio(order: number[], consumed: number): number {
    let n = 0
    for (let k = 0; k < consumed; k++) if (this.data.samples[this.virtual[order[k]]].hasSensor) n += 1
    return consumed ? n / consumed : 0
  }

  private inputs(indices: number[]): {vl: Tensor; sensor?: Tensor; mask?: Tensor; target: Tensor; weights: Tensor; count: number} {
    const tf = this.model.tf
    const c = this.model.config
    const vl = new Float32Array(indices.length * this.perSample)
    indices.forEach((i, k) => vl.set(this.features.subarray(i * this.perSample, (i + 1) * this.perSample), k * this.perSample))
    const target = new Float32Array(indices.length * c.horizon * c.actionDim)
    const weights = new Float32Array(indices.length)
    indices.forEach((i, k) => {
      const s = this.data.samples[i]
      target.set(s.actions, k * c.horizon * c.actionDim)
      weights[k] = s.hasSensor ? this.options.sensorLossWeight : 1
    })
    const out = {
      vl: tf.tensor(vl, [indices.length, this.data.views + 1, c.featureDim]),
      target: tf.tensor(target, [indices.length, c.horizon, c.actionDim]),
      weights: tf.tensor(weights, [indices.length]),
      count: 0,
    }
    if (!c.sensorEnabled) return {...out, count: indices.filter((i) => this.data.samples[i].hasSensor).length}
    const batch = sensorBatch(this.data, indices, true)
    return {...out, sensor: tf.tensor(batch.windows, [indices.length, this.data.sensorT, this.data.sensorC]), mask: tf.tensor(batch.mask, [indices.length]), count: batch.count}
  }

  private weightedMse(pred: Tensor, target: Tensor, weights: Tensor): Tensor {
    const tf = this.model.tf
    const perSample = tf.mean(tf.square(tf.sub(pred, target)), [1, 2])
    return tf.div(tf.sum(tf.mul(perSample, weights)), tf.maximum(tf.sum(weights), 1e-8))
  }

  /** Called by the core loop inside tf.variableGrads: `indices` are virtual indices. */
  loss(_model: unknown, indices: number[], rng: Rng) {
    const real = indices.map((v) => this.virtual[v])
    const x = this.inputs(real)
    this.sensorSeen += x.count
    const pred = this.model.forward(x.vl, x.sensor, x.mask, true, rng)
    return this.weightedMse(pred, x.target, x.weights) as ReturnType<VlaModel['tf']['scalar']>
  }

  /** Predicted chunks [n × horizon × action_dim] for sample indices, in batches. */
  predict(indices: number[], batch = 32): Float32Array {
    const tf = this.model.tf
    const c = this.model.config
    const out = new Float32Array(indices.length * c.horizon * c.actionDim)
    for (let start = 0; start < indices.length; start += batch) {
      const part = indices.slice(start, start + batch)
      const values = tf.tidy(() => {
        const x = this.inputs(part)
        return this.model.forward(x.vl, x.sensor, x.mask, false).dataSync() as Float32Array
      })
      out.set(values, start * c.horizon * c.actionDim)
    }
    return out
  }

  /** Held-out metrics; uses no RNG. */
  evaluate(): Record<string, number> {
    const tf = this.model.tf
    const c = this.model.config
    const chunk = c.horizon * c.actionDim
    const idx = this.val.length ? this.val : this.train
    const pred = this.predict(idx)
    let lossNum = 0
    let lossDen = 0
    const mae = {all: [0, 0], dep: [0, 0], noSensor: [0, 0]}
    idx.forEach((i, k) => {
      const s = this.data.samples[i]
      let se = 0
      let ae = 0
      for (let j = 0; j < chunk; j++) {
        const d = pred[k * chunk + j] - s.actions[j]
        se += d * d
        ae += Math.abs(d)
      }
      const w = s.hasSensor ? this.options.sensorLossWeight : 1
      lossNum += (w * se) / chunk
      lossDen += w
      mae.all[0] += ae
      mae.all[1] += chunk
      if (s.hasSensor && s.sensorDependent) {
        mae.dep[0] += ae
        mae.dep[1] += chunk
      }
      if (!s.hasSensor) {
        mae.noSensor[0] += ae
        mae.noSensor[1] += chunk
      }
    })
    void tf
    // a metric without samples (e.g. no held-out sensor session) is left out, not NaN
    const out: Record<string, number> = {eval_loss: lossNum / Math.max(lossDen, 1e-8)}
    if (mae.all[1]) out.eval_mae = mae.all[0] / mae.all[1]
    if (mae.dep[1]) out.eval_mae_sensor_dependent = mae.dep[0] / mae.dep[1]
    if (mae.noSensor[1]) out.eval_mae_no_sensor = mae.noSensor[0] / mae.noSensor[1]
    return out
  }
}
