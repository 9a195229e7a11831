/**
 * The public plugin API: the only module a plugin may use. Plugins receive it as the argument of
 * their job-kinds module (declared in their package.json as `"rfm": {"jobKinds": "./dist/kinds.js"}`)
 * and import nothing but its *types*, so a plugin always runs against the host CLI's own copy of
 * zod and of the helpers here, whichever version of rfm loads it.
 */
import {z} from 'zod'

import type {RetentionPolicy} from '../checkpoint/store'
import type {ExternalCheckpointSpec} from '../checkpoint/sync'
import type {CheckpointIO, SavedCheckpoint} from '../checkpoint/types'
import type {WorkloadInput} from '../scheduler/workload'

/** What a job needs from one machine; the scheduler turns this into an instance type. */
export interface ResourceEstimate {
  gpus: number
  /** GPU memory needed per GPU, GiB. */
  gpuMemoryGiB: number
  cpus: number
  memoryGiB: number
  /** Optional estimate of compute work, for runtime and cost estimates. */
  work?: {samples: number; epochs: number; notes?: string}
  /**
   * The model-level description the scheduler sizes GPUs and runtime from (`rfm cloud plan`):
   * model size, method, batch, sequence, samples. Needed for kinds that use GPUs.
   */
  workload?: WorkloadInput
  /**
   * The job runs exactly `gpus` processes (a launcher's count, or the config's resources.gpus):
   * the planner then considers only instances with that many GPUs.
   */
  gpusFixed?: boolean
}

/** A trainer run as a command line: "bring your own trainer", or a plugin's external mode. */
export interface ExternalCommand {
  /** argv; the first element is looked up on PATH. */
  argv: string[]
  /** absolute working directory */
  cwd: string
  env: Record<string, string>
  /**
   * Where the trainer writes checkpoints: the runtime uploads each complete one, restores the newest
   * committed one into place before a restart, and then adds `resumeArgs` to argv.
   */
  checkpoints?: ExternalCheckpointSpec
  /**
   * For `--dry-run`: which config key each script flag came from (`--learning_rate` →
   * `learning_rate`), so rfm can say whether the user set it (file, flag, --set) or rfm added it.
   */
  flagKeys?: Record<string, string>
  /** Flags rfm adds itself, with why (e.g. `--output_dir`: checkpoint sync). */
  addedFlags?: Record<string, string>
  /** Files written for the script before it starts (e.g. its YAML config), shown by `--dry-run`. */
  files?: Array<{path: string; content: string}>
  /**
   * Paths relative to cwd (files or folders) uploaded to the run's store at the end of every
   * attempt and on interruption: the final model, logs, TensorBoard dirs, eval results.
   */
  outputs?: string[]
}

/** Where a config key the user set came from. */
export type KeyOrigin = 'file' | 'flag' | 'set'

/** What the user set: top-level keys with their origin, and the keys rfm does not know (external mode passes them through). */
export interface GivenKeys {
  keys: Record<string, KeyOrigin>
  extra: Record<string, unknown>
}

export interface JobContext {
  runId: string
  attempt: number
  /** URL of the run's object store. */
  storeUrl: string
  /**
   * The keys the user set (absent for runs recorded before rfm kept them: then treat every key of
   * the config as set). The external mode passes exactly these to the script.
   */
  given?: GivenKeys
}

export interface JobKind<Config extends Record<string, unknown> = Record<string, unknown>> {
  /** The name used on the command line: `rfm cloud launch <name>`. */
  name: string
  summary: string
  /** The kind cannot estimate its job's needs: a launch asks AWS Batch only for what the config's `resources` key names. */
  resourcesFromConfigOnly?: boolean
  /**
   * zod object schema of the kind's own config keys, with defaults. Core keys shared by every kind
   * (name, retries, timeout) are added by rfm; a kind must not declare them.
   */
  schema: z.ZodObject<z.ZodRawShape>
  /** Container image this kind runs in on the cloud (a name in containers/ or a full URI). */
  image?: string
  /** Resource estimate from the validated config. */
  estimate?(config: Config): ResourceEstimate
  /**
   * Called at launch with the validated config and the directory relative paths are resolved
   * against (the config file's folder); returns the config to record, with paths made absolute.
   * Throw a ConfigError-like object ({path, message}) via `api.configError` for semantic checks.
   */
  prepare?(config: Config, baseDir: string): Config | Promise<Config>
  /**
   * Dotted config paths that hold datasets (e.g. "data.train"; the value a string or a list of
   * strings). At launch a local path there is staged to the object store and replaced by its
   * `ds:NAME@HASH` reference in the recorded config; references and URLs are left as they are.
   */
  datasetFields?: string[]
  /**
   * Dotted config paths that hold another run's checkpoint (RUN[@step|best|final|latest]). At launch
   * (and --dry-run) rfm checks that the run has that committed checkpoint; a value with a "/" or
   * naming an existing local folder (external trainers take one) is left alone.
   */
  checkpointFields?: string[]
  /**
   * How this kind trains as a command line (bring your own trainer, or a plugin's external mode).
   * A kind with both modes returns undefined when this config trains with the built-in `train`.
   */
  external?(config: Config, context: JobContext): ExternalCommand | undefined
  /**
   * Whether this raw config (file + overrides, before validation) runs the pipeline's own script,
   * so that top-level keys the schema does not know are passed to it (with a notice) instead of
   * being refused.
   */
  passesUnknownKeys?(raw: Record<string, unknown>): boolean
  /** Retention of a built-in trainer's checkpoints (save_total_limit, best metric). */
  retention?(config: Config): RetentionPolicy
  /** How this kind trains with a built-in trainer, run inside the rfm runtime. */
  train?(context: TrainerContext & {config: Config}): Promise<void | TrainOutcome>
  /**
   * Kind-specific flags of `rfm cloud launch <kind>` (name without dashes → flag). Each writes a
   * config key; precedence: config file < these flags < `--set`.
   */
  launchFlags?: Record<string, LaunchFlag>
  /** How `rfm eval` asks and judges this kind's checkpoints, and reads VQA sets in its formats. */
  evaluation?: KindEvaluation
  /**
   * Set while a kind is declared but not usable yet; launching it fails with this explanation
   * instead of running something incomplete.
   */
  notBuilt?: string
}

/** A benchmark question as a kind's evaluation hooks see it. */
export interface EvalQuestion {
  question: string
  answer: string
  choices?: string[]
  task?: string
}

/**
 * A kind's part in `rfm eval`: the prompt its checkpoints were trained to answer, how to read the
 * answer out of a completion, and, for `--benchmark vqa=PATH`, the rows of a VQA dataset in the
 * kind's formats and the kind's rule-based accuracy. Every hook is optional (defaults: the question
 * as the prompt, the completion as the answer).
 */
export interface KindEvaluation {
  prompt?(q: EvalQuestion): string
  /** the answer inside a completion; undefined when none can be read */
  answer?(completion: string): string | undefined
  /** rows of a VQA dataset (first `limit`), images as model input (imageSize² HWC floats in [0, 1]); bad rows are listed in unreadable */
  vqaRows?(location: string, imageSize: number, limit: number): Promise<{rows: (EvalQuestion & {image: Float32Array})[]; unreadable: string[]}>
  /** rule-based correctness of an answer (undefined: none could be read) */
  accuracy?(answer: string | undefined, q: EvalQuestion): {correct: boolean; why: string}
}

/** A kind-specific flag of `rfm cloud launch <kind>` that sets one config key. */
export interface LaunchFlag {
  /** dotted config path the value is written to (validated by the kind's schema, like --set) */
  path: string
  description: string
  /** boolean: --x → true, --no-x → false; string: one value; number: one numeric value; list: the values up to the next flag */
  type: 'boolean' | 'string' | 'number' | 'list'
  /** allowed values of a string or list flag */
  options?: string[]
}

export interface PluginApi {
  apiVersion: 1
  z: typeof z
  defineJobKind<Config extends Record<string, unknown>>(kind: JobKind<Config>): JobKind<Config>
  /**
   * Launch check of the compact VLM's sizes: width and vision width divisible by heads, image_size
   * by patch_size. `prefix` is the dotted path of the model keys (e.g. "builtin.model"); keys are
   * the plugins' flat `builtin.model` keys (vision heads = heads).
   */
  checkBuiltinModel(model: {width: number; heads: number; image_size?: number; patch_size?: number; vision_width?: number}, prefix: string): void
  /** An error that names a config key (dotted path), rendered like schema errors. */
  configError(path: string, message: string, hint?: string): Error
  /**
   * Parses `data` with a schema built from `api.z`; the first problem becomes a config error that
   * names its key in rfm's words (what was expected, what was given, did-you-mean), never raw zod text.
   */
  validate<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, data: unknown): T
  /**
   * The built-in trainer core (src/trainer: backends, VLM blocks, tokenizers, the training loop,
   * safetensors), loaded on first use so that tfjs never loads at CLI start-up.
   */
  loadTrainer(): Promise<typeof import('../trainer/index')>
  /**
   * Data formats without Python (src/formats): numpy .npy/.npz, PNG/JPEG, Hugging Face
   * `save_to_disk` datasets, JSON lines; loaded on first use.
   */
  loadFormats(): Promise<typeof import('../formats/index')>
  /**
   * OpenAI-compatible scoring helpers (src/grader): the LLM accuracy grader and /embeddings
   * similarity, loaded on first use (the `openai` SDK loads only when a request is made).
   */
  loadGrader(): Promise<typeof import('../grader/index')>
  /** For plugin commands: config files read and errors rendered the way rfm's own commands do. */
  commands: import('./commands').PluginCommandSupport
  /** Typed user errors (UsageError, ConfigError, NotFoundError, ...), for plugin commands. */
  errors: typeof import('../errors/index')
  /**
   * The GPU count a launcher command line names (torchrun --nproc_per_node N, accelerate launch
   * --num_processes N, deepspeed --num_gpus N, as `--x N` or `--x=N`), or undefined.
   */
  launcherGpus(argv: readonly string[]): number | undefined
  // --- trainer-facing config the core owns (issue 22 item 2; src/trainer/builtin-config.ts) ---
  /**
   * Zod fragments and mappers for kinds that train with the built-in trainer: the top-level
   * `max_steps`, the `builtin` block's trainer keys and compact-VLM model keys, the error for a key
   * that moved, and `fromHfTrainingArgs` (Hugging Face TrainingArguments names → trainer keys).
   */
  trainerConfig: import('../trainer/builtin-config').TrainerConfigKit & {
    /** the one external-mode switch (`trainer_mode: builtin | external`, src/jobs/core-schema.ts): spread into a two-trainer kind's schema */
    trainerModeShape: typeof import('../jobs/core-schema').trainerModeShape
    trainsExternally: typeof import('../jobs/core-schema').trainsExternally
  }
  // --- end trainer-facing config ---
}

/** The default export of a plugin's job-kinds module. */
export type {CheckpointIO, CheckpointFiles, SavedCheckpoint} from '../checkpoint/types'
export type {RetentionPolicy} from '../checkpoint/store'
export type {ExternalCheckpointSpec} from '../checkpoint/sync'
export type {WorkloadInput} from '../scheduler/workload'

export type JobKindsModule = (api: PluginApi) => JobKind<any>[] | Promise<JobKind<any>[]>

/** What a built-in trainer reports when it returns; recorded in the run's events and run.json. */
export interface TrainOutcome {
  /** the tfjs backend that ran (tensorflow, wasm, cpu) */
  backend?: string
  step?: number
  finished?: boolean
}

/** What the runtime gives a built-in trainer that runs inside it. */
export interface TrainerContext {
  runId: string
  attempt: number
  /** the kind's validated config */
  config: Record<string, unknown>
  checkpoints: CheckpointIO
  /**
   * True once the runtime has been asked to stop (SIGTERM, spot interruption notice): the trainer
   * saves a checkpoint at the next step boundary and returns.
   */
  stopRequested(): boolean
  /** One metrics record per logged step (metrics.jsonl, TensorBoard). */
  logMetrics(step: number, values: Record<string, number>): void
  log(message: string): void
  /** a scratch folder on local disk for this attempt */
  workDir: string
  /**
   * Another run's committed checkpoint from the same store, verified: `RUN`, `RUN@<step>`,
   * `RUN@best`, `RUN@final`, `RUN@latest` (`RUN` alone: final if the run finished, else latest).
   * The runtime always provides it; in-process tests may not.
   */
  loadRunCheckpoint?(ref: string): Promise<SavedCheckpoint & {runId: string}>
  /** The committed steps of another run of the same store, oldest first (a NotFoundError for an unknown run). */
  listRunCheckpoints?(runId: string): Promise<number[]>
}

/** The runtime's "interrupted, retry me" exit code (EX_TEMPFAIL); backends retry on it (see src/runtime/protocol). */
export {EXIT_RETRY} from '../runtime/protocol'

/** Types of the built-in trainer core (src/trainer), for plugins that train their own tasks with it. */
export type {TrainingTask, TrainResult, TrainerState, ModelConfig, VisionConfig, HeadKind, SpatialSample, SpatialTask, SceneObject} from '../trainer'

/** Types of the data formats (src/formats), for plugins that read datasets with `api.loadFormats()`. */
export type {NdArray, NpyDtype, RgbImage, HfDataset, HfFeature, HfFeatures} from '../formats'
export type {SafeParser, PluginCommandSupport} from './commands'
