/**
 * The VLA model with an optional sensor branch, on top of cached VL features:
 *   VL tokens [B, views+1, F] (frozen encoder features from the cache: one per view + the instruction)
 *     → vision.adapter (views) / vl.instr (instruction) → vl.blocks (bidirectional transformer) → mean → vl [B, W]
 *   sensor window [B, T, C] (1 force + A-scan channels)
 *     → time pooling → pointwise conv C→Cs → strided temporal convs → mean + newest-step pooling → s [B, S]
 *   fusion(vl, s · has_sensor) → h [B, W] → action expert (MLP) → [B, horizon, action_dim]
 * Convolutions have kernel = stride (a reshape + matmul), which downsamples the 650-step window
 * early and needs no Conv2D gradient kernels (the wasm backend lacks the filter gradient).
 * Parameters, linear layers (with LoRA), layer norms and attention are the trainer core's
 * (`trainer.ParamStore`, `trainer.nn`); this file wires them into the VLA model.
 */
import type {Rng, Tensor, Tf, TrainerCore as TrainerModule} from '@rfm/plugin-api'

type ParamStore = InstanceType<TrainerModule['ParamStore']>
type Forward = Parameters<TrainerModule['nn']['linear']>[0]

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
  private readonly nn: TrainerModule['nn']
  /** the core's LoRA config for the VL blocks' linears (LoRA goes only there) */
  private readonly loraConfig?: {rank: number; alpha: number; dropout: number; targetModules: string[]; modulesToSave: string[]}

  constructor(
    trainer: TrainerModule,
    readonly tf: Tf,
    readonly config: VlaModelConfig,
    rng: Rng,
    readonly lora?: LoraSpec,
  ) {
    const c = config
    if (c.width % c.heads) throw new Error(`width ${c.width} is not divisible by heads ${c.heads}`)
    if (c.fusion === 'none' && c.sensorEnabled && c.sensorOutputDim !== c.width)
      throw new Error(`fusion none adds the sensor features to the VL features: sensor_output_dim (${c.sensorOutputDim}) must equal the VL width (${c.width})`)
    this.nn = trainer.nn
    // linear weights N(0, 1/in), as this model always drew them
    this.store = new trainer.ParamStore(tf, rng, 'fan_in')
    if (lora && lora.rank > 0) this.loraConfig = {...lora, targetModules: LORA_TARGETS, modulesToSave: []}
    const s = this.store
    this.linear('vision.adapter', c.featureDim, c.width)
    this.linear('vl.instr', c.featureDim, c.width)
    s.add('vl.pos', [c.views + 1, c.width], {kind: 'normal', std: 0.1})
    for (let i = 0; i < c.vlDepth; i++) {
      const p = `vl.blocks.${i}`
      this.nn.defineLayerNorm(s, p + '.ln1', c.width)
      for (const m of ['q', 'k', 'v', 'o']) this.linear(`${p}.attn.${m}`, c.width, c.width, true)
      this.nn.defineLayerNorm(s, p + '.ln2', c.width)
      this.linear(p + '.mlp.fc1', c.width, 2 * c.width, true)
      this.linear(p + '.mlp.fc2', 2 * c.width, c.width, true)
    }
    this.nn.defineLayerNorm(s, 'vl.ln_f', c.width)
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
    this.nn.defineLinear(this.store, path, inDim, outDim, loraTarget ? this.loraConfig : undefined)
  }

  /** the core layers' forward state: LoRA dropout draws from `rng` while training */
  private pass(training: boolean, rng?: Rng): Forward {
    return {store: this.store, training: training && rng !== undefined, rng, lora: this.loraConfig, masks: new Map()}
  }

  /**
   * vl [B, views+1, F]; sensor [B, T, C] (zeros where absent) and mask [B] (1 = has sensor), both
   * ignored when the sensor is disabled. `rng` drives LoRA dropout while training.
   */
  forward(vl: Tensor, sensor: Tensor | undefined, mask: Tensor | undefined, training: boolean, rng?: Rng): Tensor {
    const tf = this.tf
    const c = this.config
    const b = vl.shape[0]
    const f = this.pass(training, rng)
    const lin = (path: string, x: Tensor) => this.nn.linear(f, path, x)
    const views = lin('vision.adapter', tf.slice(vl, [0, 0, 0], [b, c.views, c.featureDim]))
    const instr = lin('vl.instr', tf.slice(vl, [0, c.views, 0], [b, 1, c.featureDim]))
    let x = tf.add(tf.concat([views, instr], 1), this.store.get('vl.pos'))
    for (let i = 0; i < c.vlDepth; i++) {
      const p = `vl.blocks.${i}`
      // bidirectional attention over the view and instruction tokens
      x = tf.add(x, this.nn.attention(f, p + '.attn', this.nn.layerNorm(f, p + '.ln1', x), c.heads, false))
      const h = this.relu(lin(p + '.mlp.fc1', this.nn.layerNorm(f, p + '.ln2', x)))
      x = tf.add(x, lin(p + '.mlp.fc2', h))
    }
    const vlFeat = tf.mean(this.nn.layerNorm(f, 'vl.ln_f', x), 1)
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
    // the sensor branch has no LoRA and no dropout
    const f = this.pass(false)
    let x = usable === t ? sensor : tf.slice(sensor, [0, t - usable, 0], [b, usable, ch])
    x = tf.mean(tf.reshape(x, [b, usable / pool, pool, ch]), 2)
    x = this.relu(this.nn.linear(f, 'sensor.in', x))
    const conv = (path: string, input: Tensor, k: number) => {
      const [bb, tt, cc] = input.shape
      return this.relu(this.nn.linear(f, path, tf.reshape(input, [bb, tt / k, k * cc])))
    }
    x = conv('sensor.conv1', x, k1)
    x = conv('sensor.conv2', x, k2)
    // mean over the window + the newest token (the tip's current state)
    const [bb, tt, cc] = x.shape
    const newest = tf.reshape(tf.slice(x, [0, tt - 1, 0], [bb, 1, cc]), [bb, cc])
    const pooled = this.nn.linear(f, 'sensor.out', tf.concat([tf.mean(x, 1), newest], 1))
    return {pooled, tokens: x}
  }

  /** relu as maximum(x, 0): the trainer core registers gradients for the kernels it uses, Maximum among them */
  private relu(x: Tensor): Tensor {
    return this.tf.maximum(x, 0)
  }

  dispose(): void {
    this.store.dispose()
  }
}
