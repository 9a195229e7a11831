/**
 * Building blocks of an external-mode command line (`api.external`), kept once in the host so that a
 * kind composes them instead of copying them (src/jobs/external-args.ts implements this).
 */
import type {ExternalCheckpointSpec} from './checkpoints'
import type {GivenKeys} from './job-kind'

/** The flags of a script's command line, with which key each came from (for `--dry-run`) and the flags rfm added itself. */
export interface ScriptArgs {
  args: string[]
  /** flag → the config key it came from */
  flagKeys: Record<string, string>
  /** flag → why rfm added it */
  addedFlags: Record<string, string>
}

export interface ArgvFromKeysOptions {
  /** the config keys that are the script's flags, in the order they go on the command line */
  keys: readonly string[]
  /** what the user set; undefined (a run recorded before rfm kept it): every key of the config counts as set */
  given: GivenKeys | undefined
  /** a key's flag; default `--<key>` */
  flag?: (key: string) => string
  /** a set key's value as the script takes it (undefined drops the flag); default the value itself */
  value?: (key: string, value: unknown) => unknown
  /** flags rfm adds for a key the user left unset, with why (e.g. a flag the script requires) */
  unset?: (key: string) => {args: string[]; why: string} | undefined
}

export interface ExternalArgsKit {
  /**
   * `flag value` for one value: true → the flag alone; false → nothing for a switch the script knows
   * (its default), else `flag False`; lists → the flag then each item; mappings → JSON; null/undefined → nothing.
   */
  flagArgs(flag: string, value: unknown, knownSwitch: boolean): string[]
  /**
   * The script's flags from a config: each of `options.keys` the user set, in that order (an unset
   * key is not passed, so the script's default applies), then the keys rfm does not know
   * (`given.extra`) as written, where `false` becomes `flag False`.
   */
  argvFromKeys(config: Record<string, unknown>, options: ArgvFromKeysOptions): ScriptArgs
  /**
   * The checkpoint spec of a Hugging Face Trainer: one `checkpoint-<step>/` folder per save in the
   * absolute `dir`, complete once `completeMarker` (default `trainer_state.json`) exists in it.
   */
  hfCheckpointSpec(dir: string, options: {resumeArgs: string[]; saveTotalLimit?: number; completeMarker?: string}): ExternalCheckpointSpec
  /**
   * `given` resolved against `baseDir` (a `prepare` hook's config-file folder), as an absolute path;
   * throws a config error naming `key` (with `hint`) when it is not a directory.
   */
  resolveDir(baseDir: string, given: string, key: string, hint?: string): string
  /**
   * Seed 003's nested `training` ({num_epochs, batch_size, gradient_accumulation_steps,
   * learning_rate, gradient_checkpointing}) and `hardware` ({bf16}) blocks → the Hugging Face
   * TrainingArguments keys they stand for, only those given. A kind maps its own `model` block.
   */
  hfKeysFromSeedBlocks(blocks: {training?: Record<string, unknown>; hardware?: Record<string, unknown>}): Record<string, unknown>
}

/** The slot of an array job's child: index `index` of `size` children (size Infinity when unknown). */
export interface ArraySlot {
  index: number
  size: number
}

/** The runtime's environment as a kind's trainer reads it (`api.runtime`; src/runtime/protocol.ts implements it). */
export interface RuntimeKit {
  /**
   * This process's array slot: RFM_ARRAY_INDEX (or AWS_BATCH_JOB_ARRAY_INDEX) of RFM_ARRAY_SIZE;
   * undefined outside an array job. Without a size, a child takes its own item only.
   */
  arraySlot(env?: Record<string, string | undefined>): ArraySlot | undefined
  /** The items a slot handles: index, index + size, index + 2·size, …; all of them without a slot. */
  shareOf<T>(items: readonly T[], slot: ArraySlot | undefined): T[]
}
