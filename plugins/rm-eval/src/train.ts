/** Trains the built-in reward model from an rm-eval config through the trainer core's loop (exact resume). */
import type {PluginApi, TrainerContext} from '@rfm/plugin-api'

import {checkTrainConfig, TrainConfig, trainConfigSchema} from './config'
import {preferenceCorpus} from './preference-data'
import {PairSource, PreferenceRecord, readPreferenceRecords, recordCorpus, recordSource} from './records'
import {rewardReplicaSpec} from './replica'
import {RewardTask} from './reward-task'

/** The trainer core's keys from the pipeline's (HF TrainingArguments) keys, through the core's one mapping. */
export function trainerKeys(api: Pick<PluginApi, 'trainerConfig'>, c: TrainConfig) {
  return api.trainerConfig.fromHfTrainingArgs({...c, ...c.builtin, max_steps: c.max_steps, lr_scheduler_type: c.builtin.scheduler}, {extra: {freeze_vision_tower: c.freeze_vit}})
}

export async function trainRewardModel(api: PluginApi, ctx: TrainerContext) {
  // the recorded config holds only the keys the user wrote (kind-config.ts): this fills the built-in trainer's defaults
  const c = trainConfigSchema(api.z, api.trainerConfig).parse(ctx.config)
  for (const note of checkTrainConfig(api, c)) ctx.log(note)
  const trainer = await api.loadTrainer()
  const backend = await trainer.selectBackend(c.builtin.backend)
  ctx.log(`trainer backend: ${trainer.describeBackend(backend)}`)
  const d = c.builtin.data
  let corpus = preferenceCorpus(trainer)
  let source: PairSource | undefined
  let records: PreferenceRecord[] | undefined
  let trainSize = Math.min(d.train_size, c.max_train_samples ?? Infinity)
  let evalSize = d.eval_size
  if (c.dataset_path !== 'generated') {
    // records from disk: the last eval_size (at most half) are held out
    records = await readPreferenceRecords(api, c.dataset_path, {minPixels: c.min_pixels, maxPixels: c.max_pixels})
    evalSize = Math.min(d.eval_size, Math.floor(records.length / 2))
    trainSize = Math.min(records.length - evalSize, c.max_train_samples ?? Infinity)
    source = recordSource(await api.loadFormats(), trainer.Rng, records, d.seed)
    corpus = [...corpus, ...recordCorpus(records)]
    ctx.log(`dataset ${c.dataset_path}: ${records.length} records, ${trainSize} for training, ${evalSize} held out`)
  }
  const latest = await ctx.checkpoints.loadLatest()
  // the tokenizer is part of the checkpoint: a resumed run must not refit it
  const tokenizer = latest?.files['tokenizer.json'] ? trainer.tokenizerFromJSON(JSON.parse(Buffer.from(latest.files['tokenizer.json']).toString('utf8'))) : trainer.WordTokenizer.fit(corpus)
  const keys = trainerKeys(api, c)
  const modelConfig = trainer.builtinModelConfig(c.builtin.model, tokenizer.vocabSize, c.builtin.lm_loss_weight > 0 ? ['reward', 'lm'] : ['reward'], {
    contextLength: c.max_seq_length,
    dropout: c.disable_dropout ? 0 : c.builtin.model.dropout,
  })
  const model = new trainer.Vlm(backend.tf, modelConfig, new trainer.Rng(keys.seed))
  // A zero reward head starts every margin at 0. With random initial margins the quickest way down
  // the Bradley-Terry loss is to shrink them all (it is ≥ log 2 on average), and the model sits in
  // that collapse for hundreds of steps. (A resumed run loads its weights over this.)
  const head = model.store.get('heads.reward.weight')
  head.assign(backend.tf.zerosLike(head))
  try {
    const options = {
      seed: d.seed,
      trainSize,
      evalSize,
      margin: c.margin,
      centerCoefficient: c.center_rewards_coefficient ?? 0,
      irrelevantPairs: c.use_irrelevant_queries ? c.num_irrelevant_pairs : 0,
      irrelevantWeight: c.irrelevant_loss_weight,
      lmWeight: c.builtin.lm_loss_weight,
    }
    const task = new RewardTask(trainer, tokenizer, model, {...options, source})
    const replica = rewardReplicaSpec({modelConfig, seed: keys.seed, tokenizer: tokenizer.toJSON(), options, records})
    return await trainer.trainWith(ctx, {backend, model, task, tokenizer, trainer: keys, replica})
  } finally {
    model.dispose()
  }
}
