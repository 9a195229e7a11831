/**
 * External mode: the pipeline's own grpo_rec.py (VLM-R1 / open-r1-multimodal) run by the rfm
 * runtime. Exactly the keys the user set (config file, launch flags, --set) become the script's flags
 * (a key left unset is not passed: TRL's default applies), keys rfm does not know are passed as
 * written, the output_dir/checkpoint-* folders are synced to the store, and
 * `--resume_from_checkpoint <restored checkpoint-N>` is added after a restore.
 */
import * as path from 'node:path'

import type {ExternalCommand, GivenKeys, JobContext, PluginApi, ScriptArgs} from '@rfm/plugin-api'

import {GrpoConfig, grpoConfigSchema} from './config'

/** The reward functions grpo_rec.py knows (spatial, counting and combined are rfm's built-in ones). */
export const SCRIPT_REWARDS = ['format', 'accuracy', 'reasoning']

/** rfm's own keys: never the script's flags (debug_log becomes DEBUG_MODE/LOG_PATH, sft_checkpoint the model path). */
const RFM_KEYS = new Set([
  'trainer_mode',
  'builtin',
  'external',
  'outputs',
  'model',
  'training',
  'hardware',
  'debug_log',
  'skip_invalid',
  'image_root',
  'eval_split',
  'dataset_split',
  'reasoning_threshold',
  'sft_checkpoint',
])

/** Flags grpo_rec.py needs in VQA mode (the seed marks them required): rfm adds them when unset. */
const REQUIRED: Record<string, string[]> = {use_huggingface_dataset: ['--use_huggingface_dataset'], task_type: ['--task_type', 'vqa']}

export function checkExternal(api: Pick<PluginApi, 'configError'>, c: GrpoConfig): void {
  const unknown = c.reward_funcs.filter((f) => !SCRIPT_REWARDS.includes(f))
  if (unknown.length > 0)
    throw api.configError('reward_funcs', `grpo_rec.py has no ${unknown.join(', ')} reward`, `In external mode use ${SCRIPT_REWARDS.join(', ')}; spatial, counting and combined are built-in rewards.`)
  // grpo_rec.py has no flag for either (seed 001 turns its grader on in the code): passed on, they
  // would stop the script at start-up with "unrecognized arguments"; dropped, the run would differ
  // from the config in silence.
  for (const key of ['llm_grader', 'reasoning_embeddings'] as const)
    if (c[key])
      throw api.configError(
        key,
        `grpo_rec.py has no ${key} setting; it is the built-in trainer's`,
        key === 'llm_grader'
          ? "Remove it for external mode (seed 001 enables its grader with use_llm_grader=True in the accuracy reward's code), or use the built-in trainer."
          : 'Remove it for external mode, or use the built-in trainer.',
      )
  if (c.dataset_name === null || c.dataset_name === 'generated') throw api.configError('dataset_name', 'external mode needs a dataset folder (generated data is for the built-in trainer)')
  if (c.sft_checkpoint && !c.sft_checkpoint.includes('/'))
    throw api.configError(
      'sft_checkpoint',
      `"${c.sft_checkpoint}" looks like a run id; external mode takes a model folder`,
      'Pull the run first (rfm ckpt pull RUN DIR) and give that folder, or set model_name_or_path.',
    )
  if (c.model_name_or_path === 'builtin' && !c.sft_checkpoint)
    throw api.configError('model_name_or_path', 'external mode trains a Hugging Face model: set model_name_or_path', 'e.g. model_name_or_path: Qwen/Qwen2-VL-7B-Instruct')
}

/** The script's flags: the keys the user set (schema order), then the ones rfm does not know, as written. */
export function scriptFlags(api: Pick<PluginApi, 'z' | 'trainerConfig' | 'external'>, c: GrpoConfig, given: GivenKeys | undefined): ScriptArgs {
  // sft_checkpoint (a model folder) is passed as the script's model
  const model: ScriptArgs = c.sft_checkpoint
    ? {args: ['--model_name_or_path', c.sft_checkpoint], flagKeys: {'--model_name_or_path': 'sft_checkpoint'}, addedFlags: {}}
    : {args: [], flagKeys: {}, addedFlags: {}}
  const keys = Object.keys(grpoConfigSchema(api.z, api.trainerConfig).shape).filter((key) => !RFM_KEYS.has(key) && !(key === 'model_name_or_path' && c.sft_checkpoint))
  const rest = api.external.argvFromKeys(c as unknown as Record<string, unknown>, {
    keys,
    given,
    unset: (key) => {
      if (REQUIRED[key]) return {args: REQUIRED[key], why: 'grpo_rec.py requires it in VQA mode'}
      if (key === 'output_dir') return {args: ['--output_dir', c.output_dir], why: "checkpoints are synced from output_dir (rfm's default when unset)"}
      return undefined
    },
  })
  return {args: [...model.args, ...rest.args], flagKeys: {...model.flagKeys, ...rest.flagKeys}, addedFlags: rest.addedFlags}
}

/** The script's command line from the validated config. */
export function externalCommand(api: Pick<PluginApi, 'z' | 'trainerConfig' | 'external'>, c: GrpoConfig, context: JobContext): ExternalCommand {
  const e = c.external
  const {args, flagKeys, addedFlags} = scriptFlags(api, c, context.given)
  const launcher = e.launcher.length > 0 ? e.launcher : [e.python]
  const env: Record<string, string> = {...e.env}
  if (c.debug_log) {
    // the script's own per-reward debug logs: LOG_PATH's name gains _<reward>_vqa
    env.DEBUG_MODE = 'true'
    env.LOG_PATH = path.join(path.resolve(e.workdir, c.debug_log), 'training_debug.txt')
  }
  return {
    argv: [...launcher, e.script, ...args, ...e.extra_args],
    cwd: e.workdir,
    env,
    flagKeys,
    addedFlags,
    outputs: c.outputs ?? [c.output_dir, ...(c.logging_dir ? [c.logging_dir] : []), ...(c.debug_log ? [c.debug_log] : [])],
    checkpoints: api.external.hfCheckpointSpec(path.resolve(e.workdir, c.output_dir), {resumeArgs: ['--resume_from_checkpoint', '{checkpoint}'], saveTotalLimit: c.save_total_limit ?? undefined}),
  }
}
