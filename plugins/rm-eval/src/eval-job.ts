/**
 * `mode: eval` as a job (`rfm cloud launch rm-eval --eval`): every checkpoint of `model_dirs` is
 * scored inside the rfm runtime. The list of checkpoints (items) is the same in every process; a
 * child of an AWS Batch array job (RFM_ARRAY_INDEX = i of n) scores items i, i+n, i+2n, ... and one
 * job without an array scores them all, in order. After each item the rows so far are committed as
 * a checkpoint (step = items done), so an interrupted attempt resumes after the last scored item;
 * the last one is marked final. Its files are the report: the CSV, its JSON twin (with the whole
 * item list and the array slot, for `rfm rm-eval eval --merge RUN`) and logs/eval_<timestamp>.log.
 */
import {existsSync, statSync} from 'node:fs'
import * as path from 'node:path'

import type {PluginApi, TrainerContext, TrainOutcome} from '@rfm/plugin-api'

import {bestRow, CheckpointSource, errorRow, globRegex, EvalRow, evalConfigSchema, evalLog, evalPairs, folderSources, reportJson, scoreSource, toCsv} from './evaluate'

/** A checkpoint to score, or a model dir that already failed (its row). */
export type EvalItem = {source: CheckpointSource} | {row: EvalRow}

/** Resolves an entry of model_dirs that is no local folder (an rfm run id) into sources; undefined if unknown. */
export type RunSources = (entry: string, pattern: string) => Promise<CheckpointSource[] | undefined>

/** Checkpoints of rfm runs of the job's own store (TrainerContext.listRunCheckpoints / loadRunCheckpoint). */
export function runSources(ctx: TrainerContext): RunSources | undefined {
  const {listRunCheckpoints, loadRunCheckpoint} = ctx
  if (!listRunCheckpoints || !loadRunCheckpoint) return undefined
  return async (entry, pattern) => {
    let steps: number[]
    try {
      steps = await listRunCheckpoints(entry)
    } catch {
      return undefined
    }
    const re = globRegex(pattern)
    return steps
      .map((step) => ({step, name: `checkpoint-${step}`}))
      .filter(({name}) => re.test(name))
      .map(({step, name}) => ({model_dir: entry, checkpoint: name, step, read: async () => (await loadRunCheckpoint(`${entry}@${step}`)).files}))
  }
}

export async function collectItems(modelDirs: string[], pattern: string, runSources?: RunSources): Promise<EvalItem[]> {
  const items: EvalItem[] = []
  for (const entry of modelDirs) {
    let sources: CheckpointSource[] | undefined
    if (path.isAbsolute(entry) && existsSync(entry) && statSync(entry).isDirectory()) sources = folderSources(entry, entry, pattern)
    else sources = await runSources?.(entry, pattern)
    if (!sources) items.push({row: errorRow(entry, '', null, `model dir ${entry} not found here (nor an rfm run of this store)`)})
    else if (sources.length === 0) items.push({row: errorRow(entry, '', null, `no checkpoint matches ${pattern}`)})
    else items.push(...sources.map((source) => ({source})))
  }
  return items
}

export async function evaluateInJob(api: PluginApi, ctx: TrainerContext, runSources?: RunSources, now = new Date()): Promise<TrainOutcome> {
  // trainer_mode is rfm's switch (builtin here), not one of eval_rm.py's keys
  const {trainer_mode: _mode, ...keys} = ctx.config
  const c = evalConfigSchema(api.z).parse(keys)
  const {lines, note} = evalLog(ctx.log)
  const trainer = await api.loadTrainer()
  const backend = await trainer.selectBackend('auto')
  note(`trainer backend: ${trainer.describeBackend(backend)}`)
  const data = await evalPairs(api, trainer, c, '/')
  const items = await collectItems(c.model_dirs, c.checkpoint_pattern, runSources)
  // an array child (RFM_ARRAY_INDEX of RFM_ARRAY_SIZE) scores its share of the items
  const slot = api.runtime.arraySlot()
  const mine = api.runtime.shareOf(items, slot)
  note(`evaluating ${mine.length} of ${items.length} checkpoint(s)${slot ? ` (array child ${slot.index} of ${slot.size})` : ''} on ${data.describe}`)

  const base = path.basename(c.output_file)
  const jsonName = base.replace(/\.csv$/i, '') + '.json'
  const logName = `logs/eval_${now.toISOString().replace(/[:.]/g, '-')}.log`
  const all = items.map((item) => ('source' in item ? {model_dir: item.source.model_dir, checkpoint: item.source.checkpoint} : {model_dir: item.row.model_dir, checkpoint: item.row.checkpoint}))
  const latest = await ctx.checkpoints.loadLatest()
  const rows: EvalRow[] = latest?.files[jsonName] ? (JSON.parse(Buffer.from(latest.files[jsonName]).toString('utf8')) as {results: EvalRow[]}).results : []
  if (rows.length > 0) note(`resuming after ${rows.length} scored checkpoint(s)`)
  const save = async () => {
    const files = {
      [base]: Buffer.from(toCsv(rows)),
      [jsonName]: Buffer.from(reportJson(rows, data.dataset, now, {array: slot ? {index: slot.index, size: Number.isFinite(slot.size) ? slot.size : null} : null, items: all})),
      [logName]: Buffer.from(lines.join('\n') + '\n'),
    }
    await ctx.checkpoints.save(rows.length, files, {evaluated: rows.length}, {final: rows.length === mine.length})
  }
  for (const item of mine.slice(rows.length)) {
    if (ctx.stopRequested()) return {step: rows.length, finished: false}
    rows.push('row' in item ? item.row : await scoreSource(trainer, backend.tf, item.source, c.eval_batch_size, data.pairsFor, note))
    await save()
  }
  if (mine.length === 0 && !latest) await save()
  const best = bestRow(rows)
  ctx.log(
    `scored ${rows.filter((r) => r.status === 'ok').length} of ${rows.length} checkpoint(s)${best ? `; best here: ${best.model_dir}/${best.checkpoint} (accuracy ${best.preference_accuracy})` : ''}`,
  )
  return {step: rows.length, finished: true}
}
