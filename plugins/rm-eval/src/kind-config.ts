/**
 * The rm-eval job kind's config: one schema for both modes (train: train_rm.py's keys; eval:
 * eval_rm.py's keys), without defaults so that the recorded config holds what the user wrote (the
 * external mode passes exactly those keys to the pipeline's scripts). `prepare` checks the config
 * against the full schema of its mode, which fills the built-in trainer's defaults when it runs.
 */
import {existsSync, statSync} from 'node:fs'
import * as path from 'node:path'

import type {PluginApi, ResourceEstimate} from '@rfm/plugin-api'

import {checkTrainConfig, externalSchema, trainConfigSchema} from './config'
import {evalConfigSchema} from './evaluate'
import {isExternal} from './external'
import {externalEstimate, findPreset, presetNames, type EstimateInput, type Family, type Size} from './presets'

export function kindSchema(z: PluginApi['z'], tc: PluginApi['trainerConfig']) {
  return z
    .object({
      ...trainConfigSchema(z, tc).shape,
      ...evalConfigSchema(z).shape,
      builtin: z.record(z.unknown()).describe('Built-in trainer only: model size, seed, generated data (see examples/rm-eval/).'),
      outputs: z
        .array(
          z
            .string()
            .min(1)
            .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'a path relative to external.workdir, inside it'),
        )
        .describe("External mode: more files or folders uploaded at the end of every attempt (the script's output folder always is)."),
    })
    .partial()
    .strict()
}

function isEval(config: Record<string, unknown>): boolean {
  return config.mode === true || config.mode === 'eval'
}

/** The outputs key is rfm's (what to upload), not one of the scripts' keys; the eval keys know no trainer_mode. */
function withoutOutputs(config: Record<string, unknown>): Record<string, unknown> {
  const {outputs: _outputs, ...rest} = config
  return rest
}
function evalKeys(config: Record<string, unknown>): Record<string, unknown> {
  const {trainer_mode: _mode, ...rest} = withoutOutputs(config)
  return rest
}

/** The old switches (a non-builtin model, an external block) need trainer_mode: external now (exit 2 with a hint). */
function checkTrainerMode(api: PluginApi, config: Record<string, unknown>): void {
  if (isExternal(config)) return
  const hint = "One switch for every kind: add trainer_mode: external (or --set trainer_mode=external) to run the pipeline's scripts."
  if (config.external !== undefined && config.external !== null) throw api.configError('external', "the pipeline scripts' settings are given, but trainer_mode is builtin", hint)
  if (!isEval(config) && config.model_name_or_path !== undefined && config.model_name_or_path !== 'builtin')
    throw api.configError('model_name_or_path', `"${String(config.model_name_or_path)}" is trained by the pipeline's train_rm.py, but trainer_mode is builtin`, hint)
}

const RUN_ID = /^[a-z][a-z0-9-]*-\d{8}-\d{6}-[0-9a-f]{4}$/

export async function prepareKindConfig(api: PluginApi, raw: Record<string, unknown>, baseDir: string): Promise<Record<string, unknown>> {
  const config: Record<string, unknown> = {...raw}
  if (config.trainer_mode === true || config.trainer_mode === false) config.trainer_mode = config.trainer_mode ? 'external' : 'builtin'
  checkTrainerMode(api, config)
  if (isEval(config)) config.mode = 'eval'
  else if (config.mode !== undefined) config.mode = 'train'
  if (config.external) {
    const x = {...(config.external as Record<string, unknown>)}
    x.workdir = api.external.resolveDir(baseDir, String(x.workdir), 'external.workdir', "The pipeline's checkout (train_rm.py, eval_rm.py), relative to the config file.")
    config.external = x
  }
  if (isEval(config)) {
    const c = api.validate(evalConfigSchema(api.z), evalKeys(config))
    if (isExternal(config) && !c.external) throw api.configError('external', "trainer_mode external runs the pipeline's eval_rm.py: add an external block with workdir (the pipeline's checkout)")
    // local model dirs become absolute; other entries are rfm run ids of this store (eval_rm.py gets them as written)
    if (!c.external)
      config.model_dirs = c.model_dirs.map((dir) => {
        const local = path.resolve(baseDir, dir)
        if (existsSync(local)) return local
        if (RUN_ID.test(dir) || /^[\w.-]+$/.test(dir)) return dir
        throw api.configError('model_dirs', `${local} does not exist (nor is "${dir}" an rfm run id)`)
      })
  } else {
    const c = api.validate(trainConfigSchema(api.z, api.trainerConfig), withoutOutputs(config))
    if (isExternal(config)) {
      if (!c.external)
        throw api.configError(
          'external',
          "trainer_mode external runs the pipeline's train_rm.py: add an external block with workdir (the pipeline's checkout)",
          'Or drop trainer_mode: external for the built-in trainer.',
        )
      if (c.model_name_or_path === 'builtin')
        throw api.configError('model_name_or_path', 'train_rm.py trains a Hugging Face model: set model_name_or_path', 'e.g. model_name_or_path: Qwen/Qwen2.5-VL-7B-Instruct')
      const preset = findPreset(c.model_name_or_path, c.external.preset as Size | 'auto', c.external.family as Family | 'auto')
      if (!preset)
        throw api.configError(
          'external.preset',
          `no size preset matches model_name_or_path "${c.model_name_or_path}"`,
          `Set external.preset (3B, 7B, 32B, 72B) and external.family; presets: ${presetNames().join(', ')}.`,
        )
      if (c.external.launcher === 'python' && (c.external.gpus ?? 1) > 1)
        throw api.configError('external.launcher', `python runs one process; ${c.external.gpus} GPUs need torchrun, accelerate or deepspeed`)
    } else {
      checkTrainConfig(api, c)
      api.checkBuiltinModel(c.builtin.model, 'builtin.model')
      // bad records fail the launch (naming file:line or row), not the job
      if (c.dataset_path !== 'generated' && existsSync(path.resolve(baseDir, c.dataset_path))) {
        const {readPreferenceRecords} = await import('./records.js')
        const file = path.resolve(baseDir, c.dataset_path)
        await readPreferenceRecords(api, file, {minPixels: c.min_pixels, maxPixels: c.max_pixels})
        // a job stages only the file it is given: images named beside a lone .jsonl would be missing at run time
        if (statSync(file).isFile()) {
          const formats = await api.loadFormats()
          for await (const {record} of formats.readJsonl(file)) {
            const r = record as {images?: unknown; image?: unknown}
            const first = Array.isArray(r.images) ? r.images[0] : r.image
            const named = typeof first === 'string' ? first : (first as {path?: unknown; bytes?: unknown} | undefined)?.bytes ? undefined : (first as {path?: unknown} | undefined)?.path
            if (typeof named === 'string')
              throw api.configError(
                'dataset_path',
                `${file} is a single .jsonl file whose records name image files (${JSON.stringify(named)}); a job stages only the file, not the images beside it`,
                `Give the folder that holds ${path.basename(file)} and its images: dataset_path: ${path.dirname(c.dataset_path) || '.'}`,
              )
          }
        }
      }
    }
  }
  // generated data is no path to stage
  if (config.dataset_path === 'generated') delete config.dataset_path
  return config
}

export function estimateKind(api: PluginApi, config: Record<string, unknown>): ResourceEstimate {
  if (!isExternal(config)) return {gpus: 0, gpuMemoryGiB: 0, cpus: 2, memoryGiB: 2}
  const c = config as EstimateInput & {mode?: unknown}
  const x = externalSchema(api.z).parse(config.external)
  const preset = findPreset(String(config.model_name_or_path ?? config.base_model_path ?? ''), x.preset as Size | 'auto', x.family as Family | 'auto')
  if (isEval(config)) return {gpus: 1, gpuMemoryGiB: 80, cpus: 8, memoryGiB: preset ? Math.ceil((preset.paramsB * 4e9) / 2 ** 30 + 16) : 64}
  if (!preset) throw api.configError('external.preset', `no size preset matches model_name_or_path "${String(config.model_name_or_path)}"`)
  return externalEstimate(c, preset)
}
