/** Loads a trained VLA checkpoint folder and predicts one action chunk (`rfm vla-sensor predict`). */
import {existsSync, readFileSync} from 'node:fs'
import * as path from 'node:path'

import type {PluginApi} from '@rfm/plugin-api'

import {LoraSpec, VlaModel, VlaModelConfig} from './model'
import {EncoderSpec, FrozenVlEncoder} from './vl-encoder'

export interface Prediction {
  step: number | null
  actions: number[][]
  horizon: number
  action_dim: number
  has_sensor: boolean
  sensor_used: boolean
  fusion: string
  backend: string
}

export async function predictFromCheckpoint(api: PluginApi, dir: string, input: {instruction: string; images: string[]; sensor?: string}): Promise<Prediction> {
  const {NotFoundError, UsageError} = api.errors
  for (const f of ['model.safetensors', 'model_config.json', 'vla.json']) {
    if (!existsSync(path.join(dir, f)))
      throw new NotFoundError(`${dir} has no ${f}: not a vla-sensor checkpoint.`, {hint: 'Pass a run id (RUN, RUN@best, RUN@final) or a folder pulled with `rfm ckpt pull`.'})
  }
  const config = JSON.parse(readFileSync(path.join(dir, 'model_config.json'), 'utf8')) as VlaModelConfig
  const vla = JSON.parse(readFileSync(path.join(dir, 'vla.json'), 'utf8')) as {encoder: EncoderSpec; lora: LoraSpec | null}
  if (input.images.length !== config.views)
    throw new UsageError(`The model takes ${config.views} camera views; --images gave ${input.images.length}.`, {hint: 'Pass one image per view, in the training order.'})
  const formats = await api.loadFormats()
  const trainer = await api.loadTrainer()
  const encoder = new FrozenVlEncoder(trainer.Rng, vla.encoder)
  const f = config.featureDim
  const vl = new Float32Array((config.views + 1) * f)
  input.images.forEach((file, v) => {
    if (!existsSync(file)) throw new NotFoundError(`Image ${file} not found.`, {hint: 'Check the --images paths.'})
    const img = formats.decodeImage(readFileSync(file), file)
    vl.set(encoder.encodeImage({width: img.width, height: img.height, data: formats.imageToFloat(img)}), v * f)
  })
  vl.set(encoder.encodeText(input.instruction), config.views * f)
  let window: Float32Array | undefined
  if (input.sensor) {
    if (!existsSync(input.sensor)) throw new NotFoundError(`Sensor window ${input.sensor} not found.`, {hint: 'Pass a .npy of shape [T, C].'})
    const arr = formats.parseNpy(readFileSync(input.sensor), input.sensor)
    if (arr.shape.length !== 2 || arr.shape[0] !== config.sensorT || arr.shape[1] !== config.sensorC)
      throw new formats.FormatError(input.sensor, `sensor window has shape [${arr.shape}], the model takes [${config.sensorT}, ${config.sensorC}]`, {
        hint: 'One window: sensor_temporal_length × sensor_input_channels (1 force + the A-scan).',
      })
    window = formats.toFloat32(arr)
  }
  const backend = await trainer.selectBackend('auto')
  const tf = backend.tf as VlaModel['tf']
  const model = new VlaModel(trainer, tf, config, new trainer.Rng(0), vla.lora ?? undefined)
  try {
    model.store.load(trainer.decodeSafetensors(readFileSync(path.join(dir, 'model.safetensors'))).tensors)
    const sensorUsed = config.sensorEnabled && window !== undefined
    const values = tf.tidy(() => {
      const vlT = tf.tensor(vl, [1, config.views + 1, f])
      const sensorT = config.sensorEnabled ? tf.tensor(window ?? new Float32Array(config.sensorT * config.sensorC), [1, config.sensorT, config.sensorC]) : undefined
      const mask = config.sensorEnabled ? tf.tensor([sensorUsed ? 1 : 0], [1]) : undefined
      return Array.from(model.forward(vlT, sensorT, mask, false).dataSync())
    })
    let step: number | null = null
    try {
      step = (JSON.parse(readFileSync(path.join(dir, 'trainer_state.json'), 'utf8')) as {global_step?: number}).global_step ?? null
    } catch {
      // a folder without trainer_state.json: the step is unknown
    }
    const actions = Array.from({length: config.horizon}, (_, k) => values.slice(k * config.actionDim, (k + 1) * config.actionDim))
    return {
      step,
      actions,
      horizon: config.horizon,
      action_dim: config.actionDim,
      has_sensor: window !== undefined,
      sensor_used: sensorUsed,
      fusion: config.sensorEnabled ? config.fusion : 'disabled',
      backend: backend.name,
    }
  } finally {
    model.dispose()
  }
}
