import {ConfigError} from '../errors'

/** The sizes of a compact VLM that must divide: a config key (dotted) → its value. */
export interface ModelShape {
  width: {key: string; value: number}
  heads: {key: string; value: number}
  vision?: {
    image_size: {key: string; value: number}
    patch_size: {key: string; value: number}
    width: {key: string; value: number}
    heads: {key: string; value: number}
  }
}

/**
 * The shape rules of the compact VLM (src/trainer/nn/vlm.ts), checked at launch so that a config
 * the model cannot be built from exits 2 before any attempt runs (and is retried) on a machine.
 */
export function checkModelShape(shape: ModelShape): void {
  const fail = (key: string, message: string, hint: string) => new ConfigError(`Config error at ${key}: ${message}.`, {hint, details: {path: key, reason: message}})
  const divides = (a: {key: string; value: number}, b: {key: string; value: number}, what: string) => {
    if (a.value % b.value !== 0) throw fail(a.key, `${a.value} is not divisible by ${b.key} ${b.value}`, `${what}; e.g. ${a.key}: ${a.value - (a.value % b.value) || b.value}.`)
  }
  divides(shape.width, shape.heads, 'Each attention head gets width / heads channels')
  if (shape.vision) {
    const v = shape.vision
    divides(v.image_size, v.patch_size, 'The image is cut into whole patches')
    divides(v.width, v.heads, 'Each vision attention head gets width / heads channels')
  }
}
