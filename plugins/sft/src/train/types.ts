/** Types of the host's trainer core and formats, reached only through the plugin API (a plugin imports no core code). */
import type {PluginApi} from '@rfm/plugin-api'

export type TrainerModule = Awaited<ReturnType<PluginApi['loadTrainer']>>
export type Rng = InstanceType<TrainerModule['Rng']>
export type Vlm = InstanceType<TrainerModule['Vlm']>
export type Tokenizer = ReturnType<TrainerModule['tokenizerFromJSON']>
export type Tf = Vlm['tf']
export type Tensor = ReturnType<Tf['tensor']>
export type Scalar = ReturnType<Tf['scalar']>

/** One VQA sample as the built-in trainer uses it, from any source. */
export interface VqaItem {
  /** preference | progress | spatial | the dataset's third type */
  type: string
  /** trajectory A (or the one image), HWC in [0, 1] at the model's image size */
  framesA: Float32Array[]
  /** trajectory B, empty unless the question compares two */
  framesB: Float32Array[]
  question: string
  answer: string
  /** a plausible wrong answer: DPO's rejected response */
  rejected: string
}

/** Samples by index; a pure function of the index (resume regenerates or re-reads the same ones). */
export interface ItemSource {
  size: number
  get(index: number): VqaItem
  /** every question and answer text, for fitting the tokenizer */
  texts(): string[]
}
