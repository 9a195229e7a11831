/** Data types of the trainer core's contract (src/trainer.ts): safetensors, tokenizers, sampling, the synthetic spatial tasks. */
import type {Rng} from './trainer'

export type SafeDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'U16' | 'U32' | 'U64' | 'BOOL'
export interface SafeTensor {
  dtype: SafeDType
  shape: number[]
  /** little-endian bytes */
  bytes: Uint8Array
}
export interface DecodedSafetensors {
  tensors: Record<string, SafeTensor>
  metadata: Record<string, string>
}

export interface Tokenizer {
  readonly kind: 'word' | 'bpe'
  readonly vocabSize: number
  encode(text: string): number[]
  decode(ids: number[]): string
  /** id of a whole word/piece if it is one token */
  tokenId(piece: string): number | undefined
  toJSON(): Record<string, unknown>
}
export interface WordTokenizerClass {
  new (vocab: string[]): Tokenizer & {readonly vocab: string[]}
  fit(texts: string[], maxVocab?: number): Tokenizer & {readonly vocab: string[]}
}

export interface SamplingConfig {
  maxNewTokens: number
  /** 0 = greedy */
  temperature: number
  topP: number
  rng?: Rng
}

export type SpatialTask = 'relation' | 'count' | 'color' | 'multiple_choice'
export type ShapeName = 'square' | 'circle' | 'triangle'
export interface SceneObject {
  shape: ShapeName
  color: string
  /** centre, pixels */
  x: number
  y: number
  /** side / diameter, pixels */
  size: number
}
export interface SpatialSample {
  /** HWC in [0,1], imageSize × imageSize × 3 */
  image: Float32Array
  objects: SceneObject[]
  task: SpatialTask
  question: string
  answer: string
  wrongAnswers: string[]
  choices?: string[]
  reasoningSteps: string[]
}
