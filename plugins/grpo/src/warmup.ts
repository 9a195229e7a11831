/**
 * `builtin.stage: warmup`: a short supervised run on the dataset's reference completions
 * (`{"reasoning_steps": [...], "answer": "..."}` after the prompt) with the trainer core — a stand-in
 * for the SFT stage, so GRPO can start from a model that already writes the format. Its checkpoints
 * are ordinary core checkpoints (model.safetensors, model_config.json, tokenizer.json).
 */
import type {PluginApi, TrainerContext, TrainingTask} from '@rfm/plugin-api'

import {GrpoConfig, grpoConfigSchema} from './config'
import type {VqaRow} from './data'
import {promptFor, renderCompletion} from './prompt'
import {corpusOf, loadRows} from './train'

type TrainerModule = Awaited<ReturnType<PluginApi['loadTrainer']>>
type Vlm = Parameters<TrainingTask['loss']>[0]
type Tokenizer = ReturnType<TrainerModule['tokenizerFromJSON']>

const BOS = 1
const EOS = 2

class SupervisedTask implements TrainingTask {
  readonly trainSize: number
  private readonly cache = new Map<number, {seq: number[]; from: number; patches: Float32Array}>()

  constructor(
    private readonly trainer: TrainerModule,
    private readonly rows: VqaRow[],
    private readonly tokenizer: Tokenizer,
    private readonly model: Vlm,
  ) {
    this.trainSize = rows.length
  }

  private encode(i: number) {
    let e = this.cache.get(i)
    if (!e) {
      const r = this.rows[i]
      const prompt = [BOS, ...this.tokenizer.encode(promptFor(r))]
      const seq = [...prompt, ...this.tokenizer.encode(renderCompletion(r.referenceSteps, r.answer)), EOS]
      if (seq.length - 1 > this.model.config.contextLength) throw new Error(`row ${i}: ${seq.length - 1} tokens exceed the context length ${this.model.config.contextLength}`)
      e = {seq, from: prompt.length - 1, patches: this.trainer.patchifyHost([r.image], this.model.config.vision!)}
      this.cache.set(i, e)
    }
    return e
  }

  loss(model: Vlm, indices: number[], rng: Parameters<TrainingTask['loss']>[2]) {
    const tf = model.tf
    const enc = indices.map((i) => this.encode(i))
    const t = Math.max(...enc.map((e) => e.seq.length - 1))
    const tokens: number[] = []
    const targets: number[] = []
    const weights = new Float32Array(indices.length * t)
    enc.forEach((e, b) => {
      for (let j = 0; j < t; j++) {
        tokens.push(j < e.seq.length - 1 ? e.seq[j] : 0)
        targets.push(j + 1 < e.seq.length ? e.seq[j + 1] : 0)
        if (j >= e.from && j + 1 < e.seq.length) weights[b * t + j] = 1
      }
    })
    const v = model.config.vision!
    const patchLen = v.patchSize * v.patchSize * v.channels
    const flat = new Float32Array(enc.length * enc[0].patches.length)
    enc.forEach((e, b) => flat.set(e.patches, b * e.patches.length))
    const out = model.forward(
      {tokens: tf.tensor2d(tokens, [indices.length, t], 'int32'), patches: tf.tensor3d(flat, [indices.length, enc[0].patches.length / patchLen, patchLen]), promptLengths: enc.map((e) => e.from + 1)},
      true,
      rng,
    )
    return this.trainer.tokenCrossEntropy(tf, out.logits!, tf.tensor2d(targets, [indices.length, t], 'int32'), tf.tensor2d(weights, [indices.length, t]))
  }
}

export async function trainWarmup(api: PluginApi, ctx: TrainerContext): Promise<{backend: string; step: number; finished: boolean}> {
  const c: GrpoConfig = grpoConfigSchema(api.z, api.trainerConfig).parse(ctx.config)
  if (c.sft_checkpoint) throw api.configError('sft_checkpoint', 'the warmup stage starts from a fresh model', 'Drop --sft-checkpoint, or use builtin.stage: grpo.')
  const trainer = await api.loadTrainer()
  const backend = await trainer.selectBackend(c.builtin.backend)
  ctx.log(`trainer backend: ${trainer.describeBackend(backend)}`)
  const rows = await loadRows(api, trainer, c, c.builtin.model.image_size, ctx.log)
  const latest = await ctx.checkpoints.loadLatest()
  const tokenizer = latest?.files['tokenizer.json']
    ? trainer.tokenizerFromJSON(JSON.parse(Buffer.from(latest.files['tokenizer.json']).toString('utf8')))
    : trainer.WordTokenizer.fit(corpusOf(rows.train, trainer.spatialCorpus ? trainer.spatialCorpus() : []))
  const model = new trainer.Vlm(backend.tf, trainer.builtinModelConfig(c.builtin.model, tokenizer.vocabSize, ['lm']), new trainer.Rng(c.seed))
  try {
    const keys = api.trainerConfig.fromHfTrainingArgs({...c, ...c.builtin, eval_steps: 0}, {extra: {lora: {rank: 0}}})
    const task = new SupervisedTask(trainer, rows.train, tokenizer, model)
    const result = await trainer.trainWith(ctx, {backend, model, task, tokenizer, trainer: keys})
    return {backend: result.backend, step: result.step, finished: result.finished}
  } finally {
    model.dispose()
  }
}
