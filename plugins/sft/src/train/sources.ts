/**
 * Where the built-in trainer's samples come from: generated spatial scenes (the trainer core's
 * makeSpatialSample, a pure function of seed and index) and robot-reward VQA datasets written by
 * `rfm sft dataset generate` (Hugging Face save_to_disk). Both become VqaItems at the model's image size.
 */
import type {ItemSource, TrainerModule, VqaItem} from './types'

export interface SpatialOptions {
  seed: number
  /** first index (held-out samples come after the training ones) */
  offset: number
  size: number
  imageSize: number
  tasks: ('relation' | 'count' | 'color' | 'multiple_choice')[]
  /** shapes per scene: 2..maxObjects */
  maxObjects?: number
}

/** The question the model reads: multiple-choice questions carry their choices. */
export function spatialQuestion(s: {question: string; choices?: string[]}): string {
  return s.choices && s.choices.length > 0 && !s.choices.every((c) => s.question.includes(c)) ? `${s.question} ${s.choices.join(' ')}` : s.question
}

export function spatialSource(trainer: TrainerModule, o: SpatialOptions): ItemSource {
  const make = (index: number) => trainer.makeSpatialSample(o.seed, o.offset + index, o.imageSize, {tasks: o.tasks, maxObjects: o.maxObjects})
  return {
    size: o.size,
    get(index: number): VqaItem {
      const s = make(index)
      // DPO's rejected answer: one of the plausible wrong ones, chosen by index (reproducible)
      const rejected = s.wrongAnswers[(o.offset + index) % s.wrongAnswers.length]
      return {type: 'spatial', framesA: [s.image], framesB: [], question: spatialQuestion(s), answer: s.answer, rejected}
    },
    texts: () => trainer.spatialCorpus(),
  }
}

/** Several sources as one, in order. */
export function concatSources(sources: ItemSource[]): ItemSource {
  const size = sources.reduce((n, s) => n + s.size, 0)
  return {
    size,
    get(index: number): VqaItem {
      let i = index
      for (const s of sources) {
        if (i < s.size) return s.get(i)
        i -= s.size
      }
      throw new Error(`sample ${index} is out of range (${size} samples)`)
    },
    texts: () => sources.flatMap((s) => s.texts()),
  }
}

/** Items are decoded once (frames resized, PNGs decoded) and kept: small datasets, many epochs. */
export function cached(source: ItemSource): ItemSource {
  const items = new Map<number, VqaItem>()
  return {
    size: source.size,
    get(index: number) {
      let item = items.get(index)
      if (!item) items.set(index, (item = source.get(index)))
      return item
    },
    texts: () => source.texts(),
  }
}
