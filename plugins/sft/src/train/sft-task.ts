/** Supervised fine-tuning: next-token loss on the answer tokens (and EOS) only; held-out metrics from generated answers. */
import type {TrainingTask} from '@rfm/plugin-api'

import {batchTensors, FrameLayout, Slots, slotsOf, TextRow, textRow} from './encode'
import {answerMetrics, evalLoss, generateAnswers} from './evaluate'
import type {ItemSource, Rng, Scalar, Tokenizer, TrainerModule, Vlm, VqaItem} from './types'

export interface EvalOptions {
  items: VqaItem[]
  batch: number
  maxNewTokens: number
}

export class SftTask implements TrainingTask {
  readonly trainSize: number
  private readonly rows = new Map<number, {row: TextRow; slots: Slots}>()

  constructor(
    private readonly trainer: TrainerModule,
    private readonly tokenizer: Tokenizer,
    private readonly model: Vlm,
    private readonly train: ItemSource,
    private readonly layout: FrameLayout,
    private readonly evaluation?: EvalOptions,
  ) {
    this.trainSize = train.size
  }

  private encoded(index: number) {
    let e = this.rows.get(index)
    if (!e) {
      const item = this.train.get(index)
      e = {row: textRow(this.tokenizer, item.question, item.answer, this.model.config.contextLength), slots: slotsOf(item, this.layout)}
      this.rows.set(index, e)
    }
    return e
  }

  /** the loss is a mean over answer tokens: a shard's share of the batch is its answer-token count */
  lossWeight(indices: number[]): number {
    return indices.reduce((sum, i) => sum + this.encoded(i).row.answerLength, 0)
  }

  loss(model: Vlm, indices: number[], rng: Rng): Scalar {
    const enc = indices.map((i) => this.encoded(i))
    const x = batchTensors(
      this.trainer,
      model,
      enc.map((e) => e.row),
      enc.map((e) => e.slots),
    )
    const out = model.forward(x.inputs, true, rng)
    return this.trainer.tokenCrossEntropy(model.tf, out.logits!, x.targets, x.weights)
  }

  get evaluate(): ((model: Vlm) => Record<string, number>) | undefined {
    const e = this.evaluation
    if (!e || e.items.length === 0) return undefined
    return (model: Vlm) => {
      const answers = generateAnswers(this.trainer, model, this.tokenizer, e.items, this.layout, e.batch, e.maxNewTokens)
      return {eval_loss: evalLoss(this.trainer, model, this.tokenizer, e.items, this.layout, e.batch), ...answerMetrics(e.items, answers)}
    }
  }
}
