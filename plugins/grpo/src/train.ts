/**
 * The built-in GRPO trainer, on the trainer core's loop (AdamW, LoRA, clipping, schedules, exact
 * resume). Each round draws prompts in a seeded order, samples num_generations completions per
 * prompt, scores them, and turns rewards into group-relative advantages; then num_iterations
 * optimizer steps train on that generation batch. The batch in flight (completions, advantages,
 * old and reference log-probabilities) is part of every checkpoint's state, so a resumed run
 * continues on the very same completions instead of regenerating them.
 */
import * as path from 'node:path'

import type * as tfTypes from '@tensorflow/tfjs-core'

import type {ModelConfig, PluginApi, TrainerContext, TrainingTask} from '@rfm/plugin-api'

import {builtinTargetModules, checkGrpoConfig, GrpoConfig, grpoConfigSchema} from './config'
import {generatedRows, loadDatasetRows, resolveDatasetLocation, VqaRow} from './data'
import {generateRagged} from './generate'
import {completionLogps, grpoLoss, LossOptions, LossRow, LossStats} from './grpo-loss'
import {promptFor, renderCompletion} from './prompt'
import {RewardDebugLog, scoreAll} from './rewards'
import {RewardServices} from './rewards/services'

type TrainerModule = Awaited<ReturnType<PluginApi['loadTrainer']>>
type Vlm = InstanceType<TrainerModule['Vlm']>
type Tokenizer = ReturnType<TrainerModule['tokenizerFromJSON']>

const BOS = 1
const EOS = 2

/** The generation batch in flight: what a checkpoint keeps so a resume reuses it. */
export interface InFlight {
  round: number
  /** optimizer steps already taken on it (< num_iterations) */
  iteration: number
  prompts: number[]
  completions: number[][]
  advantages: number[]
  truncated: boolean[]
  oldLogp?: number[][]
  refLogp?: number[][]
  /** generation metrics, logged with the round's first step */
  metrics: Record<string, number>
}

export interface GrpoState {
  round: number
  epoch: number
  position: number
  inFlight: InFlight | null
  /** the start checkpoint as resolved on the first attempt (RUN@step), so every attempt loads the same one */
  start?: string
}

/** Rows, their prompt tokens and patches, cached per index. */
export class PromptSet {
  private readonly prefixes = new Map<number, number[]>()
  private readonly patches = new Map<number, Float32Array>()

  constructor(
    readonly trainer: TrainerModule,
    readonly rows: VqaRow[],
    readonly tokenizer: Tokenizer,
    readonly config: ModelConfig,
  ) {}

  prefix(i: number): number[] {
    let p = this.prefixes.get(i)
    if (!p) this.prefixes.set(i, (p = [BOS, ...this.tokenizer.encode(promptFor(this.rows[i]))]))
    return p
  }

  patch(i: number): Float32Array {
    let p = this.patches.get(i)
    if (!p) this.patches.set(i, (p = this.trainer.patchifyHost([this.rows[i].image], this.config.vision!)))
    return p
  }
}

/** Samples `count` completions for each prompt, all in one batch (prompt-major: prompt k's are rows k·count …). */
export function sampleCompletions(
  trainer: TrainerModule,
  model: Vlm,
  set: PromptSet,
  prompts: number[],
  count: number,
  sampling: {maxNewTokens: number; temperature: number; topP: number; rng?: InstanceType<TrainerModule['Rng']>},
): number[][] {
  const seqs = prompts.flatMap((p) => Array.from({length: count}, () => set.prefix(p)))
  const per = set.patch(prompts[0]).length
  const patches = new Float32Array(seqs.length * per)
  prompts.forEach((p, k) => {
    for (let g = 0; g < count; g++) patches.set(set.patch(p), (k * count + g) * per)
  })
  return generateRagged(trainer, model, seqs, patches, sampling)
}

export function completionText(tokenizer: Tokenizer, ids: number[]): string {
  return tokenizer.decode(ids.filter((id) => id !== EOS))
}

/** Group-relative advantages: (r − group mean) / (std + 1e-4), std of the group, of the batch, or none (unbiased std, as TRL). */
export function advantages(rewards: number[], groupSize: number, scale: 'group' | 'batch' | 'none'): {advantages: number[]; groupStd: number[]} {
  const std = (xs: number[]) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length
    return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1))
  }
  const batchStd = std(rewards)
  const out: number[] = []
  const groupStd: number[] = []
  for (let g = 0; g < rewards.length; g += groupSize) {
    const group = rewards.slice(g, g + groupSize)
    const mean = group.reduce((a, b) => a + b, 0) / group.length
    const s = std(group)
    groupStd.push(s)
    const denom = scale === 'group' ? s + 1e-4 : scale === 'batch' ? batchStd + 1e-4 : 1
    for (const r of group) out.push((r - mean) / denom)
  }
  return {advantages: out, groupStd}
}

function meanStd(xs: number[]): {mean: number; std: number} {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1))
  return {mean, std}
}

/** The trainer core's keys from the pipeline's (TRL GRPOConfig) keys, through the core's one mapping; the loop's batch is one micro-batch of queued rows. */
export function trainerKeys(api: Pick<PluginApi, 'trainerConfig'>, c: GrpoConfig, totalSteps: number) {
  return api.trainerConfig.fromHfTrainingArgs(
    {...c, ...c.builtin, max_steps: totalSteps, per_device_train_batch_size: 1, eval_steps: 0, save_steps: 0},
    {extra: {lora: c.use_peft ? {rank: c.lora_r, alpha: c.lora_alpha, dropout: c.lora_dropout, target_modules: builtinTargetModules(c.target_modules)} : {rank: 0}}},
  )
}

type SafeTensor = ReturnType<TrainerModule['decodeSafetensors']>['tensors'][string]

export interface Start {
  config: ModelConfig
  tokenizer: Tokenizer
  /** weights to start from (an SFT run's checkpoint); undefined = fresh initialisation */
  decoded?: Record<string, SafeTensor>
  /** what the run starts from, for the log */
  from: string
}

/** Model config, tokenizer and start weights: the --sft-checkpoint run's, or a fresh compact VLM. */
export async function resolveStart(api: PluginApi, trainer: TrainerModule, ctx: TrainerContext, c: GrpoConfig, corpus: () => Promise<string[]>): Promise<Start> {
  if (c.sft_checkpoint) {
    if (!ctx.loadRunCheckpoint) throw new Error("this rfm runtime cannot read another run's checkpoint (sft_checkpoint)")
    // a resumed run reloads exactly the checkpoint its first attempt resolved (RUN alone may have moved on)
    const latest = await ctx.checkpoints.loadLatest()
    const pinned = (latest?.state as {grpo?: GrpoState} | undefined)?.grpo?.start
    const ck = await ctx.loadRunCheckpoint(pinned ?? c.sft_checkpoint)
    for (const f of ['model_config.json', 'tokenizer.json']) {
      if (!ck.files[f])
        throw api.configError('sft_checkpoint', `checkpoint ${ck.runId}@${ck.step} has no ${f}`, "Use a checkpoint of rfm's built-in trainer (model.safetensors + model_config.json + tokenizer.json).")
    }
    const saved = JSON.parse(Buffer.from(ck.files['model_config.json']).toString('utf8')) as ModelConfig
    if (!saved.vision) throw api.configError('sft_checkpoint', `the model of ${ck.runId} has no vision encoder`)
    const config: ModelConfig = {...saved, outputs: ['lm'], dropout: c.builtin.model.dropout}
    const tokenizer = trainer.tokenizerFromJSON(JSON.parse(Buffer.from(ck.files['tokenizer.json']).toString('utf8')))
    const file = ck.files['merged.safetensors'] ?? ck.files['model.safetensors']
    if (!file) throw api.configError('sft_checkpoint', `checkpoint ${ck.runId}@${ck.step} has no model.safetensors`)
    const decoded = trainer.decodeSafetensors(file).tensors
    if (!ck.files['merged.safetensors'] && Object.keys(decoded).some((n) => n.includes('.lora_'))) {
      throw api.configError(
        'sft_checkpoint',
        `checkpoint ${ck.runId}@${ck.step} holds LoRA adapters without merged weights`,
        "Use the run's final checkpoint (RUN or RUN@final), which holds merged.safetensors.",
      )
    }
    return {config, tokenizer, decoded, from: `${ck.runId}@${ck.step}`}
  }
  const latest = await ctx.checkpoints.loadLatest()
  // the tokenizer is part of the checkpoint: a resumed run must not refit it
  const tokenizer = latest?.files['tokenizer.json'] ? trainer.tokenizerFromJSON(JSON.parse(Buffer.from(latest.files['tokenizer.json']).toString('utf8'))) : trainer.WordTokenizer.fit(await corpus())
  const config = trainer.builtinModelConfig(c.builtin.model, tokenizer.vocabSize, ['lm'])
  return {config, tokenizer, from: 'a fresh compact VLM'}
}

/** Train and held-out rows for this config and model input size. */
export async function loadRows(api: PluginApi, trainer: TrainerModule, c: GrpoConfig, imageSize: number, log: (m: string) => void): Promise<{train: VqaRow[]; eval: VqaRow[]}> {
  if (c.dataset_name === null || c.dataset_name === 'generated') {
    const d = c.builtin.data
    const size = Math.min(d.train_size, c.max_samples ?? Infinity)
    return {train: generatedRows(trainer, c, imageSize, 0, size), eval: generatedRows(trainer, c, imageSize, d.train_size, Math.min(d.eval_size, c.builtin.eval_size))}
  }
  if (!api.loadFormats) throw new Error('this rfm has no dataset formats module')
  const formats = await api.loadFormats()
  const location = resolveDatasetLocation(c.dataset_name, c.dataset_split)
  const train = await loadDatasetRows(formats, location, c.dataset_split, c, imageSize)
  if (train.skipped > 0) log(`skipped ${train.skipped} invalid rows (--skip-invalid): ${train.skippedWhy.slice(0, 5).join('; ')}${train.skipped > 5 ? '; …' : ''}`)
  if (train.rows.length === 0) throw api.configError('dataset_name', `${c.dataset_name} has no usable rows`)
  let held: VqaRow[] = []
  if (c.eval_split) {
    const evalLocation = c.eval_split.endsWith('.jsonl') ? path.resolve(path.dirname(location), c.eval_split) : resolveDatasetLocation(c.dataset_name, c.eval_split)
    held = (await loadDatasetRows(formats, evalLocation, c.eval_split, c, imageSize, c.builtin.eval_size)).rows
  }
  // --max-samples N: a quick validation run on the first N prompts
  return {train: c.max_samples ? train.rows.slice(0, c.max_samples) : train.rows, eval: held}
}

export function corpusOf(rows: VqaRow[], extra: string[] = []): string[] {
  return [...extra, ...rows.flatMap((r) => [promptFor(r), renderCompletion(r.referenceSteps, r.answer)])]
}

/** The GRPO task for the core loop: its loss ignores the loop's sample indices and takes the next queued micro-batch. */
class GrpoTask implements TrainingTask {
  readonly trainSize: number
  queue: LossRow[][] = []
  stats: LossStats = {tokens: 0, kl: 0, clippedLow: 0, clippedHigh: 0}

  constructor(
    private readonly tf: typeof tfTypes,
    private readonly options: LossOptions,
    gradAccum: number,
  ) {
    this.trainSize = gradAccum
  }

  loss(model: Vlm, _indices: number[], rng: Parameters<TrainingTask['loss']>[2]) {
    const rows = this.queue.shift()
    if (!rows) throw new Error('GRPO: no micro-batch queued for this loss call')
    return grpoLoss(this.tf, model, rows, this.options, rng, this.stats)
  }
}

export async function trainGrpo(api: PluginApi, ctx: TrainerContext): Promise<{backend: string; step: number; finished: boolean}> {
  // in-process callers (tests) hand raw configs; the runtime's is already valid
  const c = grpoConfigSchema(api.z, api.trainerConfig).parse(ctx.config)
  for (const note of checkGrpoConfig(api, c)) ctx.log(note)
  const trainer = await api.loadTrainer()
  const backend = await trainer.selectBackend(c.builtin.backend)
  ctx.log(`trainer backend: ${trainer.describeBackend(backend)}`)
  const tf = backend.tf

  // rows need the model's image size, a fresh tokenizer needs the rows
  let rows: {train: VqaRow[]; eval: VqaRow[]} | undefined
  const imageSizeOf = (cfg: ModelConfig) => cfg.vision!.imageSize
  const start = await resolveStart(api, trainer, ctx, c, async () => {
    rows = await loadRows(api, trainer, c, c.builtin.model.image_size, ctx.log)
    return corpusOf(rows.train, trainer.spatialCorpus ? trainer.spatialCorpus() : [])
  })
  rows ??= await loadRows(api, trainer, c, imageSizeOf(start.config), ctx.log)
  ctx.log(`GRPO from ${start.from}: ${rows.train.length} prompts, ${rows.eval.length} held out`)

  const G = c.num_generations
  const perStep = c.per_device_train_batch_size * c.gradient_accumulation_steps
  const promptsPerRound = perStep / G
  if (promptsPerRound > rows.train.length) throw api.configError('per_device_train_batch_size', `a step needs ${promptsPerRound} prompts, the dataset has ${rows.train.length}`)
  const roundsPerEpoch = Math.floor(rows.train.length / promptsPerRound)
  const totalSteps = c.max_steps > 0 ? c.max_steps : c.num_train_epochs * roundsPerEpoch * c.num_iterations
  const keys = trainerKeys(api, c, totalSteps)
  const lora =
    keys.lora.rank > 0 ? {rank: keys.lora.rank, alpha: keys.lora.alpha, dropout: keys.lora.dropout, targetModules: keys.lora.target_modules, modulesToSave: keys.lora.modules_to_save} : undefined

  const policy = new trainer.Vlm(tf, start.config, new trainer.Rng(c.seed), lora)
  let reference: Vlm | undefined
  try {
    if (start.decoded) {
      for (const name of policy.store.names()) {
        const t = start.decoded[name]
        if (!t) {
          if (name.includes('.lora_')) continue
          throw new Error(`the start checkpoint lacks parameter ${name}`)
        }
        const v = policy.store.get(name)
        if (t.shape.join(',') !== v.shape.join(',')) throw new Error(`parameter ${name}: start checkpoint shape [${t.shape}] ≠ model [${v.shape}]`)
        tf.tidy(() => v.assign(tf.tensor(toF32(t), v.shape, 'float32')))
      }
    }
    const maxPrompt = Math.max(...[...rows.train, ...rows.eval].map((r) => 1 + start.tokenizer.encode(promptFor(r)).length))
    if (maxPrompt - 1 + c.max_completion_length > start.config.contextLength) {
      throw api.configError(
        'max_completion_length',
        `the longest prompt (${maxPrompt} tokens) + max_completion_length ${c.max_completion_length} exceed the model's context length ${start.config.contextLength}`,
        start.decoded ? 'Lower max_completion_length (the start checkpoint fixes the context length).' : 'Raise builtin.model.context_length or lower max_completion_length.',
      )
    }
    if (c.beta > 0) {
      // the frozen reference is the start model (adapters off): a copy of the base weights before any resume
      reference = new trainer.Vlm(tf, {...start.config, dropout: 0}, new trainer.Rng(c.seed))
      for (const name of reference.store.names()) reference.store.get(name).assign(policy.store.get(name))
    }

    const lossOptions: LossOptions = {epsilonLow: c.epsilon, epsilonHigh: c.epsilon_high ?? c.epsilon, beta: c.beta, lossType: c.loss_type, maxCompletionLength: c.max_completion_length}
    const task = new GrpoTask(tf, lossOptions, c.gradient_accumulation_steps)
    const loop = new trainer.Trainer(ctx, {backend, model: policy, task, tokenizer: start.tokenizer, trainer: keys})
    try {
      const latest = await ctx.checkpoints.loadLatest()
      const resumed = await loop.resume()
      const saved = latest?.state as {finished?: boolean; grpo?: GrpoState} | undefined
      if (resumed !== undefined && saved?.finished) return {backend: backend.name, step: resumed, finished: true}
      const state: GrpoState = saved?.grpo ?? {round: 0, epoch: 0, position: 0, inFlight: null, ...(start.decoded ? {start: start.from} : {})}
      ctx.log(
        resumed === undefined
          ? `starting at step 0 of ${totalSteps}`
          : `resumed at step ${resumed} of ${totalSteps}${state.inFlight ? ` with generation batch ${state.inFlight.round} in flight (${state.inFlight.iteration} of ${c.num_iterations} steps done)` : ''}`,
      )

      const trainSet = new PromptSet(trainer, rows.train, start.tokenizer, start.config)
      const evalSet = new PromptSet(trainer, rows.eval, start.tokenizer, start.config)
      const debugLog = c.debug_log ? new RewardDebugLog(path.resolve(ctx.workDir, c.debug_log)) : undefined
      const weights = c.reward_weights ?? c.reward_funcs.map(() => 1)
      // llm_grader / reasoning_embeddings: rewards re-scored by an OpenAI-compatible server
      const services = await RewardServices.create(api, c)

      // Held-out prompts sampled as in training (temperature, top_p) with the same seeded draws at
      // every evaluation, so evaluations compare paired samples; builtin.eval_generations per prompt.
      const evaluate = async (): Promise<Record<string, number>> => {
        if (rows!.eval.length === 0) return {}
        const idx = rows!.eval.map((_, i) => i)
        const k = c.builtin.eval_generations
        const rng = trainer.Rng.derive(c.seed, 0xe7a1)
        const ids = sampleCompletions(trainer, policy, evalSet, idx, k, {maxNewTokens: c.max_completion_length, temperature: c.temperature, topP: c.top_p, rng})
        const samples = ids.map((_, i) => rows!.eval[Math.floor(i / k)])
        const evalTexts = ids.map((x) => completionText(start.tokenizer, x))
        const scored = scoreAll(evalTexts, samples, c.reward_funcs, weights, {reasoningThreshold: c.reasoning_threshold})
        await services?.apply(evalTexts, samples, c.reward_funcs, weights, scored)
        const out: Record<string, number> = {eval_reward: meanStd(scored.total).mean, ...services?.metrics()}
        for (const [name, results] of Object.entries(scored.perFunction)) out[`eval_rewards/${name}/mean`] = meanStd(results.map((r) => r.reward)).mean
        return out
      }

      const generateRound = async (): Promise<InFlight> => {
        if (state.position + promptsPerRound > rows!.train.length) {
          state.epoch += 1
          state.position = 0
        }
        const order = trainer.epochOrder(c.seed ^ 0x67e0, state.epoch, rows!.train.length)
        const prompts = order.slice(state.position, state.position + promptsPerRound)
        state.position += promptsPerRound
        const rng = trainer.Rng.derive(c.seed, 0x67e0, state.round)
        const completions = sampleCompletions(trainer, policy, trainSet, prompts, G, {maxNewTokens: c.max_completion_length, temperature: c.temperature, topP: c.top_p, rng})
        const truncated = completions.map((x) => x[x.length - 1] !== EOS)
        const samples = completions.map((_, i) => rows!.train[prompts[Math.floor(i / G)]])
        const texts = completions.map((x) => completionText(start.tokenizer, x))
        const scored = scoreAll(texts, samples, c.reward_funcs, weights, {reasoningThreshold: c.reasoning_threshold})
        await services?.apply(texts, samples, c.reward_funcs, weights, scored)
        debugLog?.write(
          loop.globalStep,
          rows!.train,
          texts,
          completions.map((_, i) => prompts[Math.floor(i / G)]),
          scored,
        )
        const adv = advantages(scored.total, G, c.scale_rewards)
        const lengths = completions.map((x) => x.length)
        const metrics: Record<string, number> = {
          reward: meanStd(scored.total).mean,
          reward_std: meanStd(adv.groupStd).mean,
          frac_reward_zero_std: adv.groupStd.filter((s) => Math.abs(s) < 1e-8).length / adv.groupStd.length,
          'completions/mean_length': meanStd(lengths).mean,
          'completions/min_length': Math.min(...lengths),
          'completions/max_length': Math.max(...lengths),
          'completions/clipped_ratio': truncated.filter(Boolean).length / truncated.length,
          ...services?.metrics(),
        }
        for (const [name, results] of Object.entries(scored.perFunction)) {
          const s = meanStd(results.map((r) => r.reward))
          metrics[`rewards/${name}/mean`] = s.mean
          metrics[`rewards/${name}/std`] = s.std
        }
        const batch: InFlight = {round: state.round, iteration: 0, prompts, completions, advantages: adv.advantages, truncated, metrics}
        state.round += 1
        const lossRows = rowsOf(batch)
        if (c.num_iterations > 1) batch.oldLogp = microBatches(lossRows).flatMap((mb) => completionLogps(tf, policy, mb))
        if (reference) batch.refLogp = microBatches(lossRows).flatMap((mb) => completionLogps(tf, reference!, mb))
        return batch
      }

      const rowsOf = (b: InFlight): LossRow[] =>
        b.completions.map((completion, i) => {
          const p = b.prompts[Math.floor(i / G)]
          return {
            prefix: trainSet.prefix(p),
            completion,
            patches: trainSet.patch(p),
            advantage: b.advantages[i],
            oldLogp: b.oldLogp?.[i],
            refLogp: b.refLogp?.[i],
            masked: c.mask_truncated_completions && b.truncated[i],
          }
        })
      const microBatches = (all: LossRow[]): LossRow[][] => {
        const out: LossRow[][] = []
        for (let k = 0; k < all.length; k += c.per_device_train_batch_size) out.push(all.slice(k, k + c.per_device_train_batch_size))
        return out
      }

      const save = async (final: boolean, metrics?: Record<string, number>) => {
        const files = loop.checkpointFiles(final)
        await ctx.checkpoints.save(loop.globalStep, files, {...loop.state(), grpo: state} as unknown as Record<string, unknown>, {metrics, final})
      }

      if (resumed === undefined && c.eval_steps > 0) ctx.logMetrics(0, await evaluate())
      while (loop.globalStep < totalSteps) {
        state.inFlight ??= await generateRound()
        const batch = state.inFlight
        task.queue = microBatches(rowsOf(batch))
        task.stats = {tokens: 0, kl: 0, clippedLow: 0, clippedHigh: 0}
        const lrs = loop.learningRates(loop.globalStep)
        const {loss, gradNorm} = loop.trainStep()
        const step = loop.globalStep
        batch.iteration += 1
        if (batch.iteration >= c.num_iterations) state.inFlight = null
        if (step % c.logging_steps === 0 || step === totalSteps) {
          const s = task.stats
          ctx.logMetrics(step, {
            loss,
            grad_norm: gradNorm,
            ...lrs,
            ...(batch.iteration === 1 ? batch.metrics : {}),
            ...(c.beta > 0 ? {kl: s.kl / Math.max(1, s.tokens)} : {}),
            clip_ratio: (s.clippedLow + s.clippedHigh) / Math.max(1, s.tokens),
            'clip_ratio/low_mean': s.clippedLow / Math.max(1, s.tokens),
            'clip_ratio/high_mean': s.clippedHigh / Math.max(1, s.tokens),
            epoch: state.epoch + state.position / rows.train.length,
          })
        }
        let evalMetrics: Record<string, number> | undefined
        if (c.eval_steps > 0 && step % c.eval_steps === 0 && step < totalSteps) {
          evalMetrics = await evaluate()
          ctx.logMetrics(step, evalMetrics)
        }
        if (c.save_steps > 0 && step % c.save_steps === 0 && step < totalSteps) await save(false, evalMetrics)
        // let signal handlers run: training is synchronous, and SIGTERM only reaches JS via the event loop
        await new Promise((resolve) => setImmediate(resolve))
        if (ctx.stopRequested() && step < totalSteps) {
          if (!(c.save_steps > 0 && step % c.save_steps === 0)) await save(false)
          ctx.log(`stop requested: checkpoint at step ${step} saved${state.inFlight ? ' with its generation batch in flight' : ''}`)
          return {backend: backend.name, step, finished: false}
        }
      }
      const finalMetrics = await evaluate()
      if (Object.keys(finalMetrics).length > 0) ctx.logMetrics(loop.globalStep, finalMetrics)
      await save(true, finalMetrics)
      ctx.log(`GRPO finished at step ${loop.globalStep}`)
      return {backend: backend.name, step: loop.globalStep, finished: true}
    } finally {
      loop.dispose()
    }
  } finally {
    policy.dispose()
    reference?.dispose()
  }
}

function toF32(t: SafeTensor): Float32Array {
  if (t.dtype !== 'F32') throw new Error(`expected F32 weights, got ${t.dtype}`)
  const out = new Float32Array(t.bytes.byteLength / 4)
  new Uint8Array(out.buffer).set(t.bytes)
  return out
}
