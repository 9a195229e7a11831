/**
 * The job-kind half of the plugin contract: what a plugin declares (a JobKind per `rfm cloud launch
 * <kind>`) and what rfm hands its hooks. Types only.
 */
import type {ZodObject, ZodRawShape} from 'zod'

import type {RetentionPolicy, ExternalCheckpointSpec} from './checkpoints'
import type {TrainerContext, TrainOutcome} from './trainer-context'
import type {WorkloadInput} from './workload'

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
  schema: ZodObject<ZodRawShape>
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
