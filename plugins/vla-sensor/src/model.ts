/**
 * The VLA model with an optional sensor branch, on top of cached VL features:
 *   VL tokens [B, views+1, F] (frozen encoder features from the cache: one per view + the instruction)
 *     → vision.adapter (views) / vl.instr (instruction) → vl.blocks (bidirectional transformer) → mean → vl [B, W]
 *   sensor window [B, T, C] (1 force + A-scan channels)
 *     → time pooling → pointwise conv C→Cs → strided temporal convs → mean + newest-step pooling → s [B, S]
 *   fusion(vl, s · has_sensor) → h [B, W] → action expert (MLP) → [B, horizon, action_dim]
 * Convolutions have kernel = stride (a reshape + matmul), which downsamples the 650-step window
 * early and needs no Conv2D gradient kernels (the wasm backend lacks the filter gradient).
 */
import {ParamStore} from './param-store'
import type {Rng, Tensor, Tf} from '@rfm/plugin-api'

export type Fusion = 'concat' | 'cross_attention' | 'gated' | 'none'

export interface VlaModelConfig {
  views: number
  /** dimension of one cached VL feature token */
  featureDim: number
  width: number
  vlDepth: number
  heads: number
  sensorEnabled: boolean
  sensorT: number
  sensorC: number
  sensorChannels: number
  sensorOutputDim: number
  /** [time pooling, conv1 stride, conv2 stride] */
  sensorStrides: [number, number, number]
  fusion: Fusion
  hidden: number
  horizon: number
  actionDim: number
}

export interface LoraSpec {
  rank: number
  alpha: number
  dropout: number
}

const LORA_TARGETS = ['q', 'k', 'v', 'o', 'fc1', 'fc2']

export class VlaModel {
  readonly store: ParamStore

  constructor(readonly tf: Tf, readonly config: VlaModelConfig, rng: Rng, readonly lora?: LoraSpec) {
    const c = config
    if (c.width % c.heads) throw new Error(`width ${c.width} is not divisible by heads ${c.heads}`)
    if (c.fusion === 'none' && c.sensorEnabled && c.sensorOutputDim !== c.width)
      throw new Error(`fusion none adds the sensor features to the VL features: sensor_output_dim (${c.sensorOutputDim}) must equal the VL width (${c.width})`)
    this.store = new ParamStore(tf, rng)
    const s = this.store
    this.linear('vision.adapter', c.featureDim, c.width)
    this.linear('vl.instr', c.featureDim, c.width)
    s.add('vl.pos', [c.views + 1, c.width], {kind: 'normal', std: 0.1})
    for (let i = 0; i < c.vlDepth; i++) {
      const p = `vl.blocks.${i}`
      this.norm(p + '.ln1', c.width)
      for (const m of ['q', 'k', 'v', 'o']) this.linear(`${p}.attn.${m}`, c.width, c.width, true)
      this.norm(p + '.ln2', c.width)
      this.linear(p + '.mlp.fc1', c.width, 2 * c.width, true)
      this.linear(p + '.mlp.fc2', 2 * c.width, c.width, true)
    }
    this.norm('vl.ln_f', c.width)
    if (c.sensorEnabled) {
      const [, k1, k2] = c.sensorStrides
      this.linear('sensor.in', c.sensorC, c.sensorChannels)
      this.linear('sensor.conv1', k1 * c.sensorChannels, c.sensorChannels)
      this.linear('sensor.conv2', k2 * c.sensorChannels, c.sensorChannels)
      this.linear('sensor.out', 2 * c.sensorChannels, c.sensorOutputDim)
      if (c.fusion === 'concat') this.linear('fusion.proj', c.width + c.sensorOutputDim, c.width)
      if (c.fusion === 'gated') {
        this.linear('fusion.gate', c.width + c.sensorOutputDim, c.width)
        this.linear('fusion.sensor', c.sensorOutputDim, c.width)
      }
      if (c.fusion === 'cross_attention') {
        this.linear('fusion.q', c.width, c.width)
        this.linear('fusion.k', c.sensorChannels, c.width)
        this.linear('fusion.v', c.sensorChannels, c.width)
        this.linear('fusion.o', c.width, c.width)
      }
    }
    this.linear('action.fc1', c.width, c.hidden)
    this.linear('action.fc2', c.hidden, c.hidden)
    this.linear('action.out', c.hidden, c.horizon * c.actionDim)
  }

  private linear(path: string, inDim: number, outDim: number, loraTarget = false): void {
    this.store.add(path + '.weight', [inDim, outDim], {kind: 'normal', std: 1 / Math.sqrt(inDim)})
    this.store.add(path + '.bias', [outDim], {kind: 'zeros'})
    if (loraTarget && this.lora && this.lora.rank > 0 && LORA_TARGETS.includes(path.split('.').pop()!)) {
      this.store.add(path + '.lora_A', [inDim, this.lora.rank], {kind: 'normal', std: 1 / Math.sqrt(inDim)})
      this.store.add(path + '.lora_B', [this.lora.rank, outDim], {kind: 'zeros'})
    }
  }

  private norm(path: string, dim: number): void {
    this.store.add(path + '.weight', [dim], {kind: 'ones'})
    this.store.add(path + '.bias', [dim], {kind: 'zeros'})
  }

  /**
   * vl [B, views+1, F]; sensor [B, T, C] (zeros where absent) and mask [B] (1 = has sensor), both
   * ignored when the sensor is disabled. `rng` drives LoRA dropout while training.
   */
  forward(vl: Tensor, sensor: Tensor | undefined, mask: Tensor | undefined, training: boolean, rng?: Rng): Tensor {
    const tf = this.tf
    const c = this.config
    const b = vl.shape[0]
    const lin = (path: string, x: Tensor) => this.apply(path, x, training, rng)
    const views = lin('vision.adapter', tf.slice(vl, [0, 0, 0], [b, c.views, c.featureDim]))
    const instr = lin('vl.instr', tf.slice(vl, [0, c.views, 0], [b, 1, c.featureDim]))
    let x = tf.add(tf.concat([views, instr], 1), this.store.get('vl.pos'))
    for (let i = 0; i < c.vlDepth; i++) {
      const p = `vl.blocks.${i}`
      x = tf.add(x, this.attention(p + '.attn', this.layerNorm(p + '.ln1', x), training, rng))
      const h = this.relu(lin(p + '.mlp.fc1', this.layerNorm(p + '.ln2', x)))
      x = tf.add(x, lin(p + '.mlp.fc2', h))
    }
    const vlFeat = tf.mean(this.layerNorm('vl.ln_f', x), 1)
    let h = vlFeat
    if (c.sensorEnabled) {
      if (!sensor || !mask) throw new Error('the sensor branch is enabled: sensor windows and the has_sensor mask are required')
      const {pooled, tokens} = this.encodeSensor(sensor)
      const m = tf.reshape(mask, [b, 1])
      const s = tf.mul(pooled, m)
      if (c.fusion === 'concat') h = tf.add(vlFeat, lin('fusion.proj', tf.concat([vlFeat, s], 1)))
      else if (c.fusion === 'gated') {
        const gate = tf.sigmoid(lin('fusion.gate', tf.concat([vlFeat, s], 1)))
        h = tf.add(vlFeat, tf.mul(gate, tf.mul(lin('fusion.sensor', s), m)))
      } else if (c.fusion === 'cross_attention') {
        const q = tf.reshape(lin('fusion.q', vlFeat), [b, 1, c.width])
        const k = lin('fusion.k', tokens)
        const v = lin('fusion.v', tokens)
        const att = tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(c.width)))
        const read = tf.reshape(tf.matMul(att, v), [b, c.width])
        h = tf.add(vlFeat, tf.mul(lin('fusion.o', read), m))
      } else h = tf.add(vlFeat, s)
    }
    const a = this.relu(lin('action.fc1', h))
    const a2 = this.relu(lin('action.fc2', a))
    return tf.reshape(lin('action.out', a2), [b, c.horizon, c.actionDim])
  }

  /** [B, T, C] → pooled [B, S] and the temporal tokens [B, T', Cs] (for cross-attention) */
  encodeSensor(sensor: Tensor): {pooled: Tensor; tokens: Tensor} {
    const tf = this.tf
    const c = this.config
    const [b, t, ch] = sensor.shape
    const [pool, k1, k2] = c.sensorStrides
    const span = pool * k1 * k2
    const usable = Math.floor(t / span) * span
    if (usable === 0) throw new Error(`sensor window of ${t} steps is shorter than the encoder's total stride ${span}`)
    let x = usable === t ? sensor : tf.slice(sensor, [0, t - usable, 0], [b, usable, ch])
    x = tf.mean(tf.reshape(x, [b, usable / pool, pool, ch]), 2)
    x = this.relu(this.apply('sensor.in', x, false))
    const conv = (path: string, input: Tensor, k: number) => {
      const [bb, tt, cc] = input.shape
      return this.relu(this.apply(path, tf.reshape(input, [bb, tt / k, k * cc]), false))
    }
    x = conv('sensor.conv1', x, k1)
    x = conv('sensor.conv2', x, k2)
    // mean over the window + the newest token (the tip's current state)
    const [bb, tt, cc] = x.shape
    const newest = tf.reshape(tf.slice(x, [0, tt - 1, 0], [bb, 1, cc]), [bb, cc])
    const pooled = this.apply('sensor.out', tf.concat([tf.mean(x, 1), newest], 1), false)
    return {pooled, tokens: x}
  }

  private apply(path: string, x: Tensor, training: boolean, rng?: Rng): Tensor {
    const tf = this.tf
    const w = this.store.get(path + '.weight')
    const [inDim, outDim] = w.shape
    const lead = x.shape.slice(0, -1)
    const x2 = tf.reshape(x, [-1, inDim])
    let y = tf.add(tf.matMul(x2, w), this.store.get(path + '.bias'))
    if (this.lora && this.store.has(path + '.lora_A')) {
      let xa = x2
      if (training && this.lora.dropout > 0 && rng) {
        const keep = 1 - this.lora.dropout
        const mask = new Float32Array(x2.size)
        for (let i = 0; i < mask.length; i++) mask[i] = rng.next() < keep ? 1 / keep : 0
        xa = tf.mul(x2, tf.tensor(mask, x2.shape, 'float32'))
      }
      const delta = tf.matMul(tf.matMul(xa, this.store.get(path + '.lora_A')), this.store.get(path + '.lora_B'))
      y = tf.add(y, tf.mul(delta, this.lora.alpha / this.lora.rank))
    }
    return tf.reshape(y, [...lead, outDim])
  }

  /** relu as maximum(x, 0): the trainer core registers gradients for the kernels it uses, Maximum among them */
  private relu(x: Tensor): Tensor {
    return this.tf.maximum(x, 0)
  }

  private layerNorm(path: string, x: Tensor): Tensor {
    const tf = this.tf
    const {mean, variance} = tf.moments(x, -1, true)
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5)))
    return tf.add(tf.mul(normed, this.store.get(path + '.weight')), this.store.get(path + '.bias'))
  }

  private attention(path: string, x: Tensor, training: boolean, rng?: Rng): Tensor {
    const tf = this.tf
    const [b, n, w] = x.shape
    const heads = this.config.heads
    const d = w / heads
    const split = (t: Tensor) => tf.transpose(tf.reshape(t, [b, n, heads, d]), [0, 2, 1, 3])
    const q = split(this.apply(path + '.q', x, training, rng))
    const k = split(this.apply(path + '.k', x, training, rng))
    const v = split(this.apply(path + '.v', x, training, rng))
    const att = tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(d)))
    const out = tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [b, n, w])
    return this.apply(path + '.o', out, training, rng)
  }

  dispose(): void {
    this.store.dispose()
  }
}
