/**
 * Evaluation of every checkpoint: each folder in `model_dirs` is searched for checkpoint folders
 * matching `checkpoint_pattern` (as written by `rfm rm-eval train`, or pulled with `rfm ckpt pull`);
 * each is scored on the evaluation pairs. A checkpoint that cannot be loaded gets a row with its
 * error instead of stopping the run.
 */
import {existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'

import type {PluginApi} from 'rfm/plugin-api'

import {externalSchema, modeSchema} from './config'
import {irrelevantPair, PreferencePair, preferencePair} from './preference-data'
import {preferenceMetrics, scorePairs} from './reward-task'
import type {Tf, TrainerModule} from './trainer-types'

export function evalConfigSchema(z: PluginApi['z']) {
  return z
    .object({
      mode: modeSchema(z),
      external: externalSchema(z).optional(),
      model_dirs: z.array(z.string()).min(1).describe('Folders holding checkpoint folders (relative to the config file).'),
      dataset_path: z.string().default('generated'),
      base_model_path: z.string().optional().describe('Not applicable to built-in checkpoints (each holds its whole model).'),
      checkpoint_pattern: z.string().default('checkpoint-*'),
      eval_batch_size: z.number().int().min(1).default(16),
      max_eval_samples: z.number().int().min(1).nullable().default(null),
      output_file: z.string().default('evaluation_results.csv'),
      builtin: z
        .object({
          data: z
            .object({
              seed: z.number().int().default(7),
              /** first generated index: far from the training indices by default */
              start: z.number().int().min(0).default(1_000_000),
              size: z.number().int().min(1).default(256),
              irrelevant: z.boolean().default(false).describe('Evaluate irrelevant-query pairs instead of normal pairs.'),
            })
            .strict()
            .default({}),
        })
        .strict()
        .default({}),
    })
    .strict()
}
export type EvalConfig = ReturnType<ReturnType<typeof evalConfigSchema>['parse']>

export interface EvalRow {
  model_dir: string
  checkpoint: string
  step: number | null
  preference_accuracy: number | null
  avg_margin: number | null
  margin_std: number | null
  sample_count: number
  status: 'ok' | 'error'
  error: string | null
}

export interface EvalReport {
  output_file: string
  json_file: string
  log_file: string
  results: EvalRow[]
  best: EvalRow | null
}

export const CSV_COLUMNS: (keyof EvalRow)[] = ['model_dir', 'checkpoint', 'step', 'preference_accuracy', 'avg_margin', 'margin_std', 'sample_count', 'status', 'error']

function globRegex(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
}

/** The checkpoint folders of one model dir, in step order (the trailing number of the name). */
export function findCheckpoints(dir: string, pattern: string): string[] {
  const re = globRegex(pattern)
  const trailing = (name: string) => Number(/(\d+)$/.exec(name)?.[1] ?? Number.MAX_SAFE_INTEGER)
  return readdirSync(dir)
    .filter((name) => re.test(name) && statSync(path.join(dir, name)).isDirectory())
    .sort((a, b) => trailing(a) - trailing(b) || (a < b ? -1 : 1))
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return ''
  const s = String(value)
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

export function toCsv(rows: EvalRow[]): string {
  return [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => csvField(r[c])).join(','))].join('\n') + '\n'
}

/** Loads one checkpoint folder and scores it; throws with a message naming what is wrong. */
function scoreCheckpoint(trainer: TrainerModule, tf: Tf, dir: string, config: EvalConfig, pairsFor: (imageSize: number) => PreferencePair[]) {
  if (existsSync(path.join(dir, 'PULL_ERROR'))) throw new Error(readFileSync(path.join(dir, 'PULL_ERROR'), 'utf8').trim())
  for (const file of ['model_config.json', 'model.safetensors', 'tokenizer.json']) if (!existsSync(path.join(dir, file))) throw new Error(`${file} is missing`)
  let modelConfig
  let tokenizer
  let tensors
  try {
    modelConfig = JSON.parse(readFileSync(path.join(dir, 'model_config.json'), 'utf8'))
    tokenizer = trainer.tokenizerFromJSON(JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')))
  } catch (error) {
    throw new Error(`model_config.json or tokenizer.json is not valid JSON (${(error as Error).message})`)
  }
  if (!modelConfig?.vision || !modelConfig.outputs?.includes('reward')) throw new Error('not a reward-model checkpoint (no vision encoder or no reward head in model_config.json)')
  try {
    tensors = trainer.decodeSafetensors(readFileSync(path.join(dir, 'model.safetensors'))).tensors
  } catch (error) {
    throw new Error(`model.safetensors is corrupt (${(error as Error).message})`)
  }
  const model = new trainer.Vlm(tf, modelConfig, new trainer.Rng(0))
  try {
    model.store.load(tensors)
    return preferenceMetrics(scorePairs(model, trainer, tokenizer, pairsFor(modelConfig.vision.imageSize), config.eval_batch_size))
  } finally {
    model.dispose()
  }
}

function stepOf(dir: string, name: string): number | null {
  try {
    const state = JSON.parse(readFileSync(path.join(dir, 'trainer_state.json'), 'utf8')) as {global_step?: number}
    if (typeof state.global_step === 'number') return state.global_step
  } catch {
    // no state file: fall back to the folder name
  }
  const m = /(\d+)$/.exec(name)
  return m ? Number(m[1]) : null
}

/** Evaluates every checkpoint; writes the CSV, its JSON twin and logs/eval_<timestamp>.log next to the CSV. */
/**
 * Makes an rfm run's checkpoints local: returns a folder of `checkpoint-<step>` folders, or undefined
 * when `entry` is not a run id. (The command pulls them with `rfm ckpt pull`, verified.)
 */
export type RunResolver = (entry: string, cacheDir: string) => Promise<string | undefined>

export async function evaluateCheckpoints(api: PluginApi, config: EvalConfig, baseDir: string, log: (line: string) => void, now = new Date(), resolveRun?: RunResolver): Promise<EvalReport> {
  if (config.dataset_path !== 'generated')
    throw api.configError('dataset_path', 'loading preference records (JSONL + images, HF save_to_disk) is not built yet', 'Use dataset_path: generated.')
  const outputFile = path.resolve(baseDir, config.output_file)
  const jsonFile = outputFile.replace(/\.csv$/i, '') + '.json'
  const logDir = path.join(path.dirname(outputFile), 'logs')
  const logFile = path.join(logDir, `eval_${now.toISOString().replace(/[:.]/g, '-')}.log`)
  const logLines: string[] = []
  const note = (line: string) => {
    logLines.push(`${new Date().toISOString()} ${line}`)
    log(line)
  }
  const trainer = await api.loadTrainer()
  const backend = await trainer.selectBackend('auto')
  note(`trainer backend: ${trainer.describeBackend(backend)}`)
  if (config.base_model_path) note('base_model_path: not applicable to built-in checkpoints (ignored)')
  const d = config.builtin.data
  const count = Math.min(d.size, config.max_eval_samples ?? Infinity)
  const pairCache = new Map<number, PreferencePair[]>()
  const pairsFor = (imageSize: number) => {
    let pairs = pairCache.get(imageSize)
    if (!pairs) {
      pairs = Array.from({length: count}, (_, i) => (d.irrelevant ? irrelevantPair(trainer.Rng, d.seed, d.start + i, 0, imageSize) : preferencePair(trainer.Rng, d.seed, d.start + i, imageSize)))
      pairCache.set(imageSize, pairs)
    }
    return pairs
  }
  note(`evaluating on ${count} generated ${d.irrelevant ? 'irrelevant-query' : 'preference'} pairs (seed ${d.seed}, from index ${d.start})`)
  const results: EvalRow[] = []
  for (const modelDir of config.model_dirs) {
    let dir = path.resolve(baseDir, modelDir)
    const failed = (checkpoint: string, step: number | null, error: string): EvalRow => ({model_dir: modelDir, checkpoint, step, preference_accuracy: null, avg_margin: null, margin_std: null, sample_count: 0, status: 'error', error})
    if (!existsSync(dir) && resolveRun && /^[\w.-]+$/.test(modelDir)) {
      const pulled = await resolveRun(modelDir, path.join(path.dirname(outputFile), '.rm-eval-runs'))
      if (pulled) {
        note(`${modelDir}: an rfm run; checkpoints pulled into ${pulled}`)
        dir = pulled
      }
    }
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      note(`${modelDir}: not found`)
      results.push(failed('', null, `model dir ${dir} not found (nor an rfm run id)`))
      continue
    }
    const names = findCheckpoints(dir, config.checkpoint_pattern)
    if (names.length === 0) {
      note(`${modelDir}: no folder matches ${config.checkpoint_pattern}`)
      results.push(failed('', null, `no checkpoint matches ${config.checkpoint_pattern}`))
    }
    for (const name of names) {
      const cdir = path.join(dir, name)
      const step = stepOf(cdir, name)
      try {
        const m = scoreCheckpoint(trainer, backend.tf, cdir, config, pairsFor)
        results.push({model_dir: modelDir, checkpoint: name, step, preference_accuracy: m.accuracy, avg_margin: m.avg_margin, margin_std: m.margin_std, sample_count: m.count, status: 'ok', error: null})
        note(`${modelDir}/${name}: accuracy ${m.accuracy.toFixed(4)}, margin ${m.avg_margin.toFixed(4)} ± ${m.margin_std.toFixed(4)} (${m.count} pairs)`)
      } catch (error) {
        results.push(failed(name, step, (error as Error).message))
        note(`${modelDir}/${name}: ERROR ${(error as Error).message}`)
      }
    }
  }
  const ok = results.filter((r) => r.status === 'ok')
  const best = ok.length ? ok.reduce((a, b) => (b.preference_accuracy! > a.preference_accuracy! || (b.preference_accuracy === a.preference_accuracy && b.avg_margin! > a.avg_margin!) ? b : a)) : null
  if (best) note(`best: ${best.model_dir}/${best.checkpoint} (accuracy ${best.preference_accuracy})`)
  mkdirSync(path.dirname(outputFile), {recursive: true})
  mkdirSync(logDir, {recursive: true})
  writeFileSync(outputFile, toCsv(results))
  writeFileSync(jsonFile, JSON.stringify({evaluated_at: now.toISOString(), dataset: {kind: 'generated', ...d, count}, results, best}, null, 2) + '\n')
  writeFileSync(logFile, logLines.join('\n') + '\n')
  return {output_file: outputFile, json_file: jsonFile, log_file: logFile, results, best}
}
