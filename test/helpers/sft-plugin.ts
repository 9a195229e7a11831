/** The sft plugin's built modules (plugins build after the core; tests load their dist at run time). */
import * as path from 'node:path'

import {pluginApi} from '../../src/plugin-api/host'
import type {JobKind, TrainerContext, TrainResult} from '../../src/plugin-api'

const dist = path.join(__dirname, '..', '..', '..', 'plugins', 'sft', 'dist')
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = <T>(file: string) => require(path.join(dist, file)) as T

type Item = {type: string; answer: string; question: string; framesA: Float32Array[]; framesB: Float32Array[]; rejected: string}
type ItemSource = {size: number; get(index: number): Item; texts(): string[]}
const kind = load<{default(api: typeof pluginApi): JobKind[]}>('kinds.js').default(pluginApi)[0]

export const sft = {
  api: pluginApi,
  kind,
  /** the kind's schema with defaults (what the runtime hands the trainer) */
  parse: (config: Record<string, unknown>) => kind.schema.parse(config) as Record<string, unknown>,
  run: load<{
    trainSft(api: typeof pluginApi, ctx: TrainerContext, config: Record<string, unknown>): Promise<TrainResult>
    fitTokenizer(trainer: unknown, train: ItemSource): {encode(text: string): number[]; decode(ids: number[]): string}
  }>('train/run.js'),
  text: load<{spaced(t: string): string; unspaced(t: string): string; parseProgress(t: string): number; wrongProgress(t: string): string}>('train/text.js'),
  robot: load<{rejectedAnswer(type: string, answer: string): string}>('train/robot.js'),
  evaluate: load<{answerMetrics(items: Item[], answers: string[]): Record<string, number>}>('train/evaluate.js'),
  dataset: load<{
    generateVqaDataset(options: Record<string, unknown>, formats: unknown): Promise<{num_samples: number}>
    vqaSamples(options: Record<string, unknown>, formats: unknown): Promise<(Omit<Item, 'type' | 'rejected'> & {sampleType: string; width: number; height: number; progressA: number; progressB: number})[]>
  }>('dataset/index.js'),
  sources: load<{spatialSource(trainer: unknown, o: {seed: number; offset: number; size: number; imageSize: number; tasks: string[]; maxObjects?: number}): ItemSource}>('train/sources.js'),
  robotSource: load<{robotSource(dataset: unknown, imageSize: number, images: unknown, limit?: number): ItemSource}>('train/robot.js').robotSource,
  encode: load<{
    slotImages(item: Item, layout: {framesPerTrajectory: number; twoTrajectories: boolean; imageSize: number}): Float32Array[]
    textRow(tokenizer: unknown, question: string, answer: string, contextLength: number): {sequence: number[]; promptLength: number; answerLength: number}
  }>('train/encode.js'),
}
