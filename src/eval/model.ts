/**
 * A checkpoint of rfm's compact VLM answering benchmark questions, the way sft's evaluation does
 * (plugins/sft/src/train/evaluate.ts): BOS + the tokenized prompt, the image resized to the model's
 * input (slot 0 of a multi-frame model, the other slots masked), greedy decoding with the trainer's
 * generate(), prompts of one length batched together. The tokenizer is the checkpoint's own.
 */
import {readFileSync} from 'node:fs'

import type {EvalQuestion, KindEvaluation} from '../plugin-api'

type TrainerModule = typeof import('../trainer/index')
type Vlm = InstanceType<TrainerModule['Vlm']>
type Formats = typeof import('../formats/index')

const PAD = 0
const BOS = 1
const EOS = 2

/** Digits spelled one by one, as sft's word tokenizer learned them ("12" → "1 2"). */
export const spaced = (text: string) =>
  text
    .replace(/\d+(?:\.\d+)?/g, (n) => ` ${n.split('').join(' ')} `)
    .replace(/\s+/g, ' ')
    .trim()
export const unspaced = (text: string) => text.replace(/(\d)\s+(?=[\d.])|(\.)\s+(?=\d)/g, (_m, d, p) => d ?? p).trim()

export interface LoadedModel {
  model: Vlm
  tokenizer: ReturnType<TrainerModule['tokenizerFromJSON']>
  imageSize: number
  dispose(): void
}

/** The generative VLM of a checkpoint's files; throws naming what is missing or wrong. */
export function loadModel(trainer: TrainerModule, tf: Vlm['tf'], files: Record<string, Uint8Array>): LoadedModel {
  for (const file of ['model_config.json', 'tokenizer.json']) if (!files[file]) throw new Error(`${file} is missing (not a checkpoint of rfm's built-in trainer)`)
  const weights = files['merged.safetensors'] ?? files['model.safetensors']
  if (!weights) throw new Error('model.safetensors is missing')
  const text = (name: string) => Buffer.from(files[name]).toString('utf8')
  let config
  let tokenizer
  try {
    config = JSON.parse(text('model_config.json'))
    tokenizer = trainer.tokenizerFromJSON(JSON.parse(text('tokenizer.json')))
  } catch (error) {
    throw new Error(`model_config.json or tokenizer.json is not valid (${(error as Error).message})`)
  }
  if (!config?.vision) throw new Error('the model has no vision encoder')
  if (!config.outputs?.includes('lm')) throw new Error(`the model has no language-model head (outputs: ${(config.outputs ?? []).join(', ')}): it cannot answer questions`)
  let tensors
  try {
    tensors = trainer.decodeSafetensors(weights).tensors
  } catch (error) {
    throw new Error(`the weights do not decode (${(error as Error).message})`)
  }
  if (!files['merged.safetensors'] && Object.keys(tensors).some((n) => n.includes('.lora_'))) {
    throw new Error("the checkpoint holds LoRA adapters without merged weights; evaluate the run's final checkpoint (merged.safetensors)")
  }
  const model = new trainer.Vlm(tf, {...config, dropout: 0}, new trainer.Rng(0))
  try {
    model.store.load(tensors)
  } catch (error) {
    model.dispose()
    throw new Error(`the weights do not fit model_config.json (${(error as Error).message})`)
  }
  return {model, tokenizer, imageSize: config.vision.imageSize, dispose: () => model.dispose()}
}

/** A question with its image as model input. */
export interface Asked {
  q: EvalQuestion
  image: Float32Array
}

/**
 * The prompt text a question is asked with: the kind's own (grpo: with the options and its JSON
 * format), else the question alone, as sft and vlm models were trained to read it; their answer is
 * matched to an option by its text (or letter).
 */
export function promptText(q: EvalQuestion, evaluation?: KindEvaluation): string {
  return evaluation?.prompt ? evaluation.prompt(q) : spaced(q.question)
}

/** Greedy completions of the model for the questions, decoded. */
export function answerAll(trainer: TrainerModule, loaded: LoadedModel, asked: Asked[], evaluation: KindEvaluation | undefined, options: {batch: number; maxNewTokens: number}): string[] {
  const {model, tokenizer} = loaded
  const v = model.config.vision!
  const frames = v.frames ?? 1
  const blank = new Float32Array(v.imageSize * v.imageSize * v.channels)
  const out = new Array<string>(asked.length)
  const byLength = new Map<number, number[]>()
  const prompts = asked.map((a) => {
    const ids = [BOS, ...tokenizer.encode(promptText(a.q, evaluation))]
    // the prompt's tail is kept when it would leave no room to answer
    return ids.length > model.config.contextLength - 1 ? [BOS, ...ids.slice(ids.length - model.config.contextLength + 2)] : ids
  })
  prompts.forEach((p, i) => byLength.set(p.length, [...(byLength.get(p.length) ?? []), i]))
  for (const group of byLength.values()) {
    for (let start = 0; start < group.length; start += options.batch) {
      const ids = group.slice(start, start + options.batch)
      const images = ids.flatMap((i) => [asked[i].image, ...new Array<Float32Array>(frames - 1).fill(blank)])
      const mask = frames > 1 ? ids.flatMap(() => [1, ...new Array<number>(frames - 1).fill(0)]) : undefined
      const patches = trainer.patchifyHost(images, v)
      const maxNewTokens = Math.max(1, Math.min(options.maxNewTokens, model.config.contextLength + 1 - prompts[ids[0]].length))
      const tokens = trainer.generate(
        model,
        ids.map((i) => prompts[i]),
        patches,
        {maxNewTokens, temperature: 0, topP: 1},
        mask,
      )
      ids.forEach((i, k) => (out[i] = tokenizer.decode(tokens[k].filter((t) => t !== PAD && t !== EOS))))
    }
  }
  return out
}

/** The image of a sample as model input: decoded (once per source and size), resized to size². */
export function modelImage(formats: Formats, image: {bytes: Uint8Array} | {file: string}, source: string, size: number): Float32Array {
  const bytes = 'bytes' in image ? image.bytes : readFileSync(image.file)
  const decoded = formats.decodeImage(bytes, source)
  return formats.imageToFloat(formats.resizeImage(decoded, size, size))
}
