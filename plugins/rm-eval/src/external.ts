/**
 * The external mode: the pipeline's own train_rm.py / eval_rm.py under its launcher (torchrun,
 * accelerate, deepspeed, or plain python), with rfm's runtime around it. rfm writes the pipeline's
 * keys (the config minus rfm's own blocks) into a YAML file the script reads, points output_dir at a
 * scratch folder whose checkpoint-<step>/ folders are synced to the store, and adds resume_args when
 * a checkpoint was restored there.
 */
import * as os from 'node:os'
import * as path from 'node:path'

import type {ExternalCommand, JobContext, PluginApi} from '@rfm/plugin-api'

import {externalSchema} from './config'
import {findPreset, type Family, type Size} from './presets'

/** rfm's own keys: never passed to the pipeline's scripts. */
const RFM_KEYS = ['trainer_mode', 'mode', 'external', 'builtin', 'outputs']

export type ExternalKeys = ReturnType<ReturnType<typeof externalSchema>['parse']>

/** Whether a config runs the pipeline's scripts: trainer_mode: external, the one switch of every two-trainer kind (a boolean is the --external flag's). */
export function isExternal(config: Record<string, unknown>): boolean {
  return config.trainer_mode === 'external' || config.trainer_mode === true
}

/** The launcher's argv for `script` on `gpus` processes of one node. */
export function launcherArgv(x: ExternalKeys, gpus: number, script: string): string[] {
  const n = String(gpus)
  const port = String(x.master_port)
  switch (x.launcher) {
    case 'torchrun':
      return ['torchrun', '--nnodes', '1', '--nproc_per_node', n, '--master_port', port, script]
    case 'accelerate':
      return ['accelerate', 'launch', '--num_machines', '1', '--num_processes', n, '--main_process_port', port, script]
    case 'deepspeed':
      return ['deepspeed', '--num_gpus', n, '--master_port', port, script]
    case 'python':
      return [x.python, script]
  }
}

/** Where an attempt's generated config and the script's output live on the machine. */
export function scratchDir(runId: string): string {
  return path.join(process.env.RFM_RM_EVAL_SCRATCH ?? path.join(os.tmpdir(), 'rfm-rm-eval'), runId)
}

/** The config's outputs key: more files or folders, relative to external.workdir. */
function userOutputs(config: Record<string, unknown>): string[] {
  return Array.isArray(config.outputs) ? config.outputs.map(String) : []
}

/** The pipeline's keys of a recorded config, as the script's YAML. */
export function pipelineKeys(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([key, value]) => !RFM_KEYS.includes(key) && value !== undefined))
}

/**
 * The command of an external-mode job, or undefined when the config trains with the built-in
 * trainer. Writes the script's config file into the attempt's scratch folder.
 */
export function externalCommand(api: PluginApi, config: Record<string, unknown>, context: JobContext): ExternalCommand | undefined {
  if (!isExternal(config)) return undefined
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const {stringify} = require('yaml') as typeof import('yaml')
  const x = externalSchema(api.z).parse(config.external)
  const evalMode = config.mode === true || config.mode === 'eval'
  const dir = scratchDir(context.runId)
  const outputDir = path.join(dir, 'output')
  // keys rfm does not know (save_total_limit, report_to, lr_scheduler_type, ...) go to the script as written
  const keys = {...pipelineKeys(config), ...(context.given?.extra ?? {}), ...x.extra_keys}
  if (evalMode) keys.output_file = path.join(outputDir, path.basename(String(config.output_file ?? 'evaluation_results.csv')))
  else keys.output_dir = outputDir
  const configFile = path.join(dir, evalMode ? 'eval_config.yaml' : 'train_config.yaml')
  // the runtime writes it before the script starts (a dry run only shows it)
  const files = [{path: configFile, content: `# written by rfm for run ${context.runId} (the pipeline's keys of the job's config)\n${stringify(keys)}`}]
  if (evalMode) {
    // run_eval.sh: one process on one GPU; its CSV and JSON twin are stored like a checkpoint
    return {
      argv: [x.python, x.eval_script, configFile, ...x.extra_args],
      cwd: x.workdir,
      env: {},
      files,
      // the CSV, the JSON and logs/ of eval_rm.py
      outputs: [outputDir, ...userOutputs(config)],
      checkpoints: {dir: outputDir, layout: 'file', file: path.basename(String(keys.output_file)).replace(/\.csv$/i, '') + '.json', completeMarker: x.complete_marker, resumeArgs: [], retention: {}},
    }
  }
  const preset = findPreset(String(config.model_name_or_path), x.preset as Size | 'auto', x.family as Family | 'auto')
  const gpus = x.gpus ?? preset?.gpus ?? 1
  return {
    argv: [...launcherArgv(x, gpus, x.train_script), configFile, ...x.extra_args],
    cwd: x.workdir,
    env: {},
    files,
    // the final model save_model writes at output_dir's root (checkpoint-N/ are stored apart)
    outputs: [outputDir, ...userOutputs(config)],
    checkpoints: api.external.hfCheckpointSpec(outputDir, {completeMarker: x.complete_marker, resumeArgs: x.resume_args, saveTotalLimit: x.save_total_limit}),
  }
}
