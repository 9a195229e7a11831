/** The API object rfm hands a plugin (its job-kinds module's argument; `this.api` in kit commands). */
import type {z} from 'zod'

import type {CheckpointRow, LocalCheckpoints} from './checkpoints'
import type {ErrorsCore} from './errors'
import type {ExternalArgsKit, RuntimeKit} from './external-args'
import type {FormatsCore} from './formats'
import type {GraderCore} from './grader'
import type {JobKind} from './job-kind'
import type {TrainerCore} from './trainer'
import type {TrainerConfigKit} from './trainer-config'
import type {ApiVersion} from './version'

export interface PluginApi {
  /** the contract version this host implements (see `apiVersion`) */
  apiVersion: ApiVersion
  /** the host's zod: build kind schemas with it, so they validate with the host's copy */
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
  loadTrainer(): Promise<TrainerCore>
  /**
   * Data formats without Python (src/formats): numpy .npy/.npz, PNG/JPEG, Hugging Face
   * `save_to_disk` datasets, JSON lines; loaded on first use.
   */
  loadFormats(): Promise<FormatsCore>
  /**
   * OpenAI-compatible scoring helpers (src/grader): the LLM accuracy grader and /embeddings
   * similarity, loaded on first use (the `openai` SDK loads only when a request is made).
   */
  loadGrader(): Promise<GraderCore>
  /** For plugin commands: config files read and errors rendered the way rfm's own commands do. */
  commands: PluginCommandSupport
  /** Runs of a profile's store, as `rfm cloud status` shows them. */
  runs: PluginRuns
  /** Committed checkpoints of runs (`rfm ckpt ls`/`pull`), and checkpoint-<step>/ folders on local disk. */
  checkpoints: PluginCheckpoints
  /** Typed user errors (UsageError, ConfigError, NotFoundError, ...), for plugin commands. */
  errors: ErrorsCore
  /**
   * The GPU count a launcher command line names (torchrun --nproc_per_node N, accelerate launch
   * --num_processes N, deepspeed --num_gpus N, as `--x N` or `--x=N`), or undefined.
   */
  launcherGpus(argv: readonly string[]): number | undefined
  // --- new members of the API object go below this line (the contract only grows within a major version) ---
  /**
   * The trainer-facing config the core owns (src/trainer/builtin-config.ts): the top-level
   * `max_steps`, the `builtin` block's keys, the compact VLM's model keys, the error for a moved key,
   * the HF TrainingArguments mapper and the one external-mode switch (`trainer_mode`).
   */
  trainerConfig: TrainerConfigKit
  /**
   * Building blocks of an external-mode command (src/jobs/external-args.ts): config keys → the
   * script's flags (`argvFromKeys`), a Hugging Face Trainer's checkpoint spec, a config folder
   * resolved against the config file's folder.
   */
  external: ExternalArgsKit
  /** The runtime's environment as a kind's trainer reads it (src/runtime/protocol.ts): the array job slot. */
  runtime: RuntimeKit
}

/** The default export of a plugin's job-kinds module. */
export type JobKindsModule = (api: PluginApi) => JobKind<any>[] | Promise<JobKind<any>[]>

/** The part of a zod schema a config reader needs (a plugin's zod is the host's). */
export interface SafeParser<T> {
  safeParse(value: unknown): {success: true; data: T} | {success: false; error: {issues: {path: (string | number)[]; message: string}[]}}
}

/** The part of an oclif command error rendering needs (`logJson` is protected there, so it is passed in). */
export interface ErrorRenderingCommand {
  readonly id: string | undefined
  jsonEnabled(): boolean
  exit(code?: number): never
}

export interface PluginCommandSupport {
  /** Parses a YAML/JSON config file against `schema`; errors name the file or the key (`hint` says where the keys are documented). */
  readConfigFile<T>(file: string, schema: SafeParser<T>, hint: string): Promise<{config: T; baseDir: string}>
  /**
   * A config as `rfm cloud launch` reads one: the file (optional), then each `--set key=value`
   * (YAML value) in order; validated against `schema`. baseDir: the file's folder, else `cwd`.
   */
  readConfig<T>(source: {file?: string; sets?: string[]; cwd?: string}, schema: SafeParser<T>, hint: string): Promise<{config: T; baseDir: string}>
  /** The body of a plugin command's `catch`: renders the error like rfm's own commands and sets the exit code. */
  handleError(command: ErrorRenderingCommand, logJson: (json: unknown) => void, error: Error): unknown
}

/** Which store (a profile's; default the active one) and, for array jobs, which child. */
export interface RunLookup {
  profile?: string
  /** a child of an array job (AWS Batch --array): its checkpoints are kept apart, under the run */
  arrayIndex?: number
}

/** A run as `rfm cloud status --json` shows it (the fields plugins may rely on; the record has more). */
export interface RunView {
  id: string
  kind: string
  state: string
  config: Record<string, unknown>
  backend: {name: string; request?: {arraySize?: number}}
}

export interface PluginRuns {
  /** The run's record (a cloud backend's view merged in, like `rfm cloud status`); a NotFoundError when there is none. */
  get(runId: string, options?: Pick<RunLookup, 'profile'>): Promise<RunView>
}

export interface PluginCheckpoints {
  /** `rfm ckpt ls`: the run's committed checkpoints, oldest first, best and final tagged. */
  list(runId: string, options?: RunLookup): Promise<{run: string; checkpoints: CheckpointRow[]}>
  /**
   * `rfm ckpt pull`: `ref` is RUN (final if the run finished, else latest), RUN@<step>, RUN@best,
   * RUN@final or RUN@latest; every file is verified against the manifest before it is written.
   */
  pull(ref: string, dir: string, options?: RunLookup): Promise<{run: string; step: number; dir: string; files: string[]}>
  /** Checkpoints as `checkpoint-<step>/` folders in a local directory (Hugging Face's layout), for commands that train outside a run. */
  local(dir: string): LocalCheckpoints
}
