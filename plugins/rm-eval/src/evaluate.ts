/**
 * Evaluation of every checkpoint: each folder in `model_dirs` is searched for checkpoint folders
 * matching `checkpoint_pattern` (as written by `rfm rm-eval train`, or pulled with `rfm ckpt pull`);
 * each is scored on the evaluation pairs. A checkpoint that cannot be loaded gets a row with its
 * error instead of stopping the run.
 */
import {existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'

import type {PluginApi} from '@rfm/plugin-api'

import {externalSchema, modeSchema} from './config'
import {generatedSource, PreferencePair} from './preference-data'
import {PairSource, readPreferenceRecords, recordSource} from './records'
import {preferenceMetrics, scorePairs} from './reward-task'
import type {Tf, TrainerCore as TrainerModule} from '@rfm/plugin-api'

export function evalConfigSchema(z: PluginApi['z']) {
  return z
    .object({
      mode: modeSchema(z),
      external: externalSchema(z).optional(),
      model_dirs: z.array(z.string()).min(1).describe('Folders holding checkpoint folders (relative to the config file).'),
      dataset_path: z
        .string()
        .default('generated')
        .describe('"generated" (see builtin.data), a JSONL file of {chosen, rejected, images} records (or a folder holding one), or a datasets save_to_disk folder.'),
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

export function globRegex(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  )
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

/** A checkpoint's files by name (model_config.json, tokenizer.json, model.safetensors, ...). */
export type CheckpointFileMap = Record<string, Uint8Array>

/** One checkpoint to score: where it is, and how to read its files (throws with a message naming the problem). */
export interface CheckpointSource {
  model_dir: string
  checkpoint: string
  step: number | null
  read(): Promise<CheckpointFileMap>
}

/** Scores one checkpoint's files; throws with a message naming what is wrong. */
export function scoreFiles(trainer: TrainerModule, tf: Tf, files: CheckpointFileMap, batch: number, pairsFor: (imageSize: number) => PreferencePair[]) {
  for (const file of ['model_config.json', 'model.safetensors', 'tokenizer.json']) if (!files[file]) throw new Error(`${file} is missing`)
  const text = (name: string) => Buffer.from(files[name]).toString('utf8')
  let modelConfig
  let tokenizer
  let tensors
  try {
    modelConfig = JSON.parse(text('model_config.json'))
    tokenizer = trainer.tokenizerFromJSON(JSON.parse(text('tokenizer.json')))
  } catch (error) {
    throw new Error(`model_config.json or tokenizer.json is not valid JSON (${(error as Error).message})`)
  }
  if (!modelConfig?.vision || !modelConfig.outputs?.includes('reward')) throw new Error('not a reward-model checkpoint (no vision encoder or no reward head in model_config.json)')
  try {
    tensors = trainer.decodeSafetensors(files['model.safetensors']).tensors
  } catch (error) {
    throw new Error(`model.safetensors is corrupt (${(error as Error).message})`)
  }
  const model = new trainer.Vlm(tf, modelConfig, new trainer.Rng(0))
  try {
    model.store.load(tensors)
    return preferenceMetrics(scorePairs(model, trainer, tokenizer, pairsFor(modelConfig.vision.imageSize), batch))
  } finally {
    model.dispose()
  }
}

function stepOf(state: Uint8Array | undefined, name: string): number | null {
  try {
    const parsed = JSON.parse(Buffer.from(state!).toString('utf8')) as {global_step?: number; step?: number}
    if (typeof parsed.global_step === 'number') return parsed.global_step
  } catch {
    // no state file: fall back to the folder name
  }
  const m = /(\d+)$/.exec(name)
  return m ? Number(m[1]) : null
}

/** The checkpoint folders of a local model dir as sources (a PULL_ERROR file stands for a failed pull). */
export function folderSources(modelDir: string, dir: string, pattern: string): CheckpointSource[] {
  return findCheckpoints(dir, pattern).map((name) => {
    const cdir = path.join(dir, name)
    const stateFile = path.join(cdir, 'trainer_state.json')
    return {
      model_dir: modelDir,
      checkpoint: name,
      step: stepOf(existsSync(stateFile) ? readFileSync(stateFile) : undefined, name),
      async read() {
        if (existsSync(path.join(cdir, 'PULL_ERROR'))) throw new Error(readFileSync(path.join(cdir, 'PULL_ERROR'), 'utf8').trim())
        const files: CheckpointFileMap = {}
        for (const file of readdirSync(cdir)) if (statSync(path.join(cdir, file)).isFile()) files[file] = readFileSync(path.join(cdir, file))
        return files
      },
    }
  })
}

/** A row for a model dir or checkpoint that could not be scored. */
export function errorRow(model_dir: string, checkpoint: string, step: number | null, error: string): EvalRow {
  return {model_dir, checkpoint, step, preference_accuracy: null, avg_margin: null, margin_std: null, sample_count: 0, status: 'error', error}
}

/**
 * The evaluation pairs of a config, made once per image size: generated (builtin.data), or the
 * records of dataset_path (relative to baseDir), at most max_eval_samples; irrelevant-query pairs
 * instead with builtin.data.irrelevant.
 */
export async function evalPairs(
  api: PluginApi,
  trainer: TrainerModule,
  config: EvalConfig,
  baseDir: string,
): Promise<{describe: string; dataset: Record<string, unknown>; pairsFor(imageSize: number): PreferencePair[]}> {
  const d = config.builtin.data
  let count = Math.min(d.size, config.max_eval_samples ?? Infinity)
  let source: PairSource = generatedSource(trainer, d.seed)
  let first = d.start
  let dataset: Record<string, unknown> = {kind: 'generated', ...d, count}
  let describe = `${count} generated ${d.irrelevant ? 'irrelevant-query' : 'preference'} pairs (seed ${d.seed}, from index ${d.start})`
  if (config.dataset_path !== 'generated') {
    const file = path.resolve(baseDir, config.dataset_path)
    const records = await readPreferenceRecords(api, file, {limit: config.max_eval_samples ?? undefined})
    source = recordSource(await api.loadFormats(), trainer.Rng, records, d.seed)
    count = records.length
    first = 0
    dataset = {kind: 'records', path: file, irrelevant: d.irrelevant, count}
    describe = `${count} ${d.irrelevant ? 'irrelevant-query pairs made from the' : ''} records of ${file}`
  }
  const cache = new Map<number, PreferencePair[]>()
  return {
    describe,
    dataset,
    pairsFor(imageSize) {
      let pairs = cache.get(imageSize)
      if (!pairs) {
        pairs = Array.from({length: count}, (_, i) => (d.irrelevant ? source.irrelevant(first + i, 0, imageSize) : source.pair(first + i, imageSize)))
        cache.set(imageSize, pairs)
      }
      return pairs
    },
  }
}

/** Scores sources in order; a source that fails gets an error row. */
export async function scoreSources(
  trainer: TrainerModule,
  tf: Tf,
  sources: CheckpointSource[],
  batch: number,
  pairsFor: (imageSize: number) => PreferencePair[],
  note: (line: string) => void,
): Promise<EvalRow[]> {
  const rows: EvalRow[] = []
  for (const s of sources) rows.push(await scoreSource(trainer, tf, s, batch, pairsFor, note))
  return rows
}

export async function scoreSource(
  trainer: TrainerModule,
  tf: Tf,
  s: CheckpointSource,
  batch: number,
  pairsFor: (imageSize: number) => PreferencePair[],
  note: (line: string) => void,
): Promise<EvalRow> {
  try {
    const m = scoreFiles(trainer, tf, await s.read(), batch, pairsFor)
    note(`${s.model_dir}/${s.checkpoint}: accuracy ${m.accuracy.toFixed(4)}, margin ${m.avg_margin.toFixed(4)} ± ${m.margin_std.toFixed(4)} (${m.count} pairs)`)
    return {
      model_dir: s.model_dir,
      checkpoint: s.checkpoint,
      step: s.step,
      preference_accuracy: m.accuracy,
      avg_margin: m.avg_margin,
      margin_std: m.margin_std,
      sample_count: m.count,
      status: 'ok',
      error: null,
    }
  } catch (error) {
    note(`${s.model_dir}/${s.checkpoint}: ERROR ${(error as Error).message}`)
    return errorRow(s.model_dir, s.checkpoint, s.step, (error as Error).message)
  }
}

/** Best by preference accuracy, then margin; null when nothing scored. */
export function bestRow(rows: EvalRow[]): EvalRow | null {
  const ok = rows.filter((r) => r.status === 'ok')
  return ok.length ? ok.reduce((a, b) => (b.preference_accuracy! > a.preference_accuracy! || (b.preference_accuracy === a.preference_accuracy && b.avg_margin! > a.avg_margin!) ? b : a)) : null
}

/** The report's files: the CSV, its JSON twin, and the log's name (logs/eval_<timestamp>.log). */
export function reportFiles(outputFile: string, now: Date): {csv: string; json: string; log: string} {
  return {csv: outputFile, json: outputFile.replace(/\.csv$/i, '') + '.json', log: path.join(path.dirname(outputFile), 'logs', `eval_${now.toISOString().replace(/[:.]/g, '-')}.log`)}
}

export function reportJson(rows: EvalRow[], dataset: Record<string, unknown>, now: Date, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({evaluated_at: now.toISOString(), dataset, ...extra, results: rows, best: bestRow(rows)}, null, 2) + '\n'
}

/**
 * Makes an rfm run's checkpoints local: returns a folder of `checkpoint-<step>` folders, or undefined
 * when `entry` is not a run id. (The command pulls them with `rfm ckpt pull`, verified.)
 */
export type RunResolver = (entry: string, cacheDir: string) => Promise<string | undefined>

/** Logs to the terminal and keeps the lines (with times) for logs/eval_<timestamp>.log. */
export function evalLog(log: (line: string) => void): {lines: string[]; note(line: string): void} {
  const lines: string[] = []
  return {lines, note: (line) => (lines.push(`${new Date().toISOString()} ${line}`), log(line))}
}

/** Evaluates every checkpoint here; writes the CSV, its JSON twin and logs/eval_<timestamp>.log next to the CSV. */
export async function evaluateCheckpoints(api: PluginApi, config: EvalConfig, baseDir: string, log: (line: string) => void, now = new Date(), resolveRun?: RunResolver): Promise<EvalReport> {
  const outputFile = path.resolve(baseDir, config.output_file)
  const files = reportFiles(outputFile, now)
  const {lines, note} = evalLog(log)
  const trainer = await api.loadTrainer()
  const backend = await trainer.selectBackend('auto')
  note(`trainer backend: ${trainer.describeBackend(backend)}`)
  if (config.base_model_path) note('base_model_path: not applicable to built-in checkpoints (ignored)')
  const data = await evalPairs(api, trainer, config, baseDir)
  note(`evaluating on ${data.describe}`)
  const results: EvalRow[] = []
  for (const modelDir of config.model_dirs) {
    let dir = path.resolve(baseDir, modelDir)
    if (!existsSync(dir) && resolveRun && /^[\w.-]+$/.test(modelDir)) {
      const pulled = await resolveRun(modelDir, path.join(path.dirname(outputFile), '.rm-eval-runs'))
      if (pulled) {
        note(`${modelDir}: an rfm run; checkpoints pulled into ${pulled}`)
        dir = pulled
      }
    }
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      note(`${modelDir}: not found`)
      results.push(errorRow(modelDir, '', null, `model dir ${dir} not found (nor an rfm run id)`))
      continue
    }
    const sources = folderSources(modelDir, dir, config.checkpoint_pattern)
    if (sources.length === 0) {
      note(`${modelDir}: no folder matches ${config.checkpoint_pattern}`)
      results.push(errorRow(modelDir, '', null, `no checkpoint matches ${config.checkpoint_pattern}`))
    }
    results.push(...(await scoreSources(trainer, backend.tf, sources, config.eval_batch_size, data.pairsFor, note)))
  }
  const best = bestRow(results)
  if (best) note(`best: ${best.model_dir}/${best.checkpoint} (accuracy ${best.preference_accuracy})`)
  mkdirSync(path.dirname(files.log), {recursive: true})
  writeFileSync(files.csv, toCsv(results))
  writeFileSync(files.json, reportJson(results, data.dataset, now))
  writeFileSync(files.log, lines.join('\n') + '\n')
  return {output_file: files.csv, json_file: files.json, log_file: files.log, results, best}
}
