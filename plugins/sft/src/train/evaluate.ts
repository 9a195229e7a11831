/**
 * Held-out metrics from the model's own answers (greedy decoding, parsed as the pipeline does):
 * preference accuracy (the letter), progress MAE/RMSE (the decimal; an unparseable answer counts as
 * the worst error it could be), and exact-match accuracy of every other sample type.
 */
import {batchTensors, FrameLayout, PAD, promptTokens, slotsOf, textRow} from './encode'
import {parseProgress, unspaced} from './text'
import type {ItemSource, Tokenizer, TrainerModule, Vlm, VqaItem} from './types'

/** Greedy answers of the model, decoded and un-spaced; prompts of one length are batched together. */
export function generateAnswers(trainer: TrainerModule, model: Vlm, tokenizer: Tokenizer, items: VqaItem[], layout: FrameLayout, batch: number, maxNewTokens: number): string[] {
  const answers = new Array<string>(items.length)
  const byLength = new Map<number, number[]>()
  const prompts = items.map((item) => promptTokens(tokenizer, item.question))
  prompts.forEach((p, i) => byLength.set(p.length, [...(byLength.get(p.length) ?? []), i]))
  const v = model.config.vision!
  for (const group of byLength.values()) {
    for (let start = 0; start < group.length; start += batch) {
      const ids = group.slice(start, start + batch)
      const slots = ids.map((i) => slotsOf(items[i], layout))
      const patches = trainer.patchifyHost(
        slots.flatMap((s) => s.images),
        v,
      )
      const out = trainer.generate(
        model,
        ids.map((i) => prompts[i]),
        patches,
        {maxNewTokens, temperature: 0, topP: 1},
        slots.flatMap((s) => s.mask),
      )
      ids.forEach((i, k) => (answers[i] = unspaced(tokenizer.decode(out[k].filter((t) => t !== PAD)))))
    }
  }
  return answers
}

/** Mean answer-token cross-entropy (teacher forcing), as the training loss is computed. */
export function evalLoss(trainer: TrainerModule, model: Vlm, tokenizer: Tokenizer, items: VqaItem[], layout: FrameLayout, batch: number): number {
  const tf = model.tf
  let sum = 0
  let tokens = 0
  for (let start = 0; start < items.length; start += batch) {
    const part = items.slice(start, start + batch)
    const rows = part.map((item) => textRow(tokenizer, item.question, item.answer, model.config.contextLength))
    const loss = tf.tidy(() => {
      const x = batchTensors(
        trainer,
        model,
        rows,
        part.map((item) => slotsOf(item, layout)),
      )
      const out = model.forward(x.inputs, false)
      return trainer.tokenCrossEntropy(tf, out.logits!, x.targets, x.weights)
    })
    const n = rows.reduce((a, r) => a + r.answerLength, 0)
    sum += (loss.dataSync()[0] as number) * n
    tokens += n
    loss.dispose()
  }
  return sum / Math.max(1, tokens)
}

export function answerMetrics(items: VqaItem[], answers: string[]): Record<string, number> {
  const byType = new Map<string, {right: number; n: number}>()
  let absSum = 0
  let sqSum = 0
  let progressN = 0
  let right = 0
  items.forEach((item, i) => {
    const ok = answers[i].trim() === item.answer.trim()
    if (ok) right += 1
    if (item.type === 'progress') {
      const truth = parseProgress(item.answer)
      const said = parseProgress(answers[i])
      const error = Number.isNaN(said) ? Math.max(truth, 1 - truth) : Math.abs(said - truth)
      absSum += error
      sqSum += error * error
      progressN += 1
    } else {
      const t = byType.get(item.type) ?? {right: 0, n: 0}
      t.n += 1
      if (ok) t.right += 1
      byType.set(item.type, t)
    }
  })
  const out: Record<string, number> = {eval_accuracy: right / Math.max(1, items.length)}
  for (const [type, t] of byType) out[`eval_${type}_accuracy`] = t.right / t.n
  if (progressN > 0) {
    out.eval_progress_mae = absSum / progressN
    out.eval_progress_rmse = Math.sqrt(sqSum / progressN)
  }
  return out
}

export function evalItems(source: ItemSource | undefined, limit?: number): VqaItem[] {
  if (!source) return []
  const n = Math.min(source.size, limit ?? Infinity)
  return Array.from({length: n}, (_, i) => source.get(i))
}
