/**
 * `@rfm/plugin-kit/testing`: what a plugin's tests take from the host rfm they run against, without
 * loading any host file by path. The host's test helpers are reached through the host package's
 * declared `exports` entry `rfm/testing` (resolved the way the command base resolves `rfm/plugin-host`:
 * the package refers to itself from its root), and typed by `PluginTesting` below, which the host's
 * barrel (`test/helpers/plugin-testing.ts` in rfm) is type-checked against, so a helper whose
 * signature drifts breaks rfm's build, not a plugin test at run time.
 *
 * The host is the rfm checkout the plugin is developed in: `RFM_HOST_ROOT` if set, else an `rfm`
 * package resolvable from the working directory, else the nearest folder above this kit whose
 * package.json is named `rfm` (the npm-workspaces layout of rfm's own plugins). `rfm/testing` is not
 * published (the root package's `files` omit `dist/test`): plugin tests run against a checkout.
 */
import {existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import * as path from 'node:path'

import type {CheckpointIO, FormatsCore, GraderCore, PluginApi, SavedCheckpoint, TrainerContext, TrainerCore, WorkloadInput} from '@rfm/plugin-api'

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

export interface CliOptions {
  /** RFM_HOME of the child: its profiles and local store (`tempHome()` gives a fresh one) */
  home: string
  cwd?: string
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
}

/** One attempt of a run as `--json` prints it (the fields plugin tests read; src/schemas/run.schema.json has them all). */
export interface TestAttempt {
  index: number
  exitCode?: number | null
  signal?: string | null
  reason?: string
  resumedFromStep?: number
  chaos?: string
  trainerBackend?: string
  checkpointsCommitted?: number
}

/** A run record as `rfm cloud launch --json` / `rfm cloud status --json` print it (the fields plugin tests read). */
export interface TestRun {
  id: string
  kind: string
  state: string
  reason?: string
  config: Record<string, unknown>
  attempts: TestAttempt[]
  backend: {name: string; [key: string]: unknown}
}

export interface FinishedRun {
  run: TestRun
  /** the files of its final checkpoint */
  files: Map<string, Buffer>
}

/** In-memory checkpoints for in-process trainer tests; `saved` holds every commit, oldest first. */
export interface MemoryCheckpoints extends CheckpointIO {
  readonly saved: (SavedCheckpoint & {final: boolean})[]
}

/** A TrainerContext that records what the trainer logged. */
export interface TestContext extends TrainerContext {
  metrics: {step: number; values: Record<string, number>}[]
  logs: string[]
}

export interface ChatRequest {
  model: string
  messages: {role: string; content: string}[]
  response_format?: {type: string}
  temperature?: number
}

/** What the fake OpenAI server replies to one chat request: content, an HTTP error, or a delay first. */
export type ChatReply = {content: string; delayMs?: number} | {status: number; message: string}

export interface OpenAiServer {
  url: string
  chats: ChatRequest[]
  embeddingRequests: {model: string; input: string | string[]}[]
  close(): Promise<void>
}

/** The scheduler's reading of a kind's `estimate().workload` (the fields tests check). */
export interface SizedWorkload {
  method: string
  frames: number
  vision_tokens_per_frame: number
  samples: number
}

/** What `rfm/testing` exports as `pluginTesting`. */
export interface PluginTesting {
  /** the same object a plugin's job-kinds module receives (`rfm/plugin-host`) */
  api: PluginApi
  /** what `api.loadTrainer()`, `api.loadFormats()`, `api.loadGrader()` resolve to, loaded at once for tests */
  trainer: TrainerCore
  formats: FormatsCore
  grader: GraderCore

  /** the host's root folder (examples/ lives there) and its CLI entry (bin/run.js) */
  ROOT: string
  BIN: string
  /** a fresh RFM_HOME */
  tempHome(prefix?: string): string
  /** the real CLI as a child process */
  rfm(args: string[], options: CliOptions): Promise<CliResult>
  /** the CLI with --json, stdout parsed (throws, showing both streams, when it is not JSON); `json` is untyped unless T is given */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a command's --json output, as the tests read it
  rfmJson<T = any>(args: string[], options: CliOptions): Promise<CliResult & {json: T}>
  /** polls until `check` returns a value (not undefined); fails after `timeoutMs` */
  waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs?: number): Promise<T>
  /** asserts that `data` matches the host's checked-in JSON schema src/schemas/<name>.schema.json */
  assertSchema(name: string, data: unknown): void

  /** `rfm cloud launch KIND --follow ARGS`, which must succeed, then `rfm ckpt pull RUN --final` */
  launchAndPullFinal(kind: string, args: string[], options: {home: string; timeoutMs: number}): Promise<FinishedRun>
  /** most of the chaos kills landed (a fast run may end before the last); returns how many */
  assertMostKillsLanded(run: TestRun, kills: number): number
  /** same files byte for byte, and the same training state (trainer_state.json without its resume history) */
  assertSameFinalCheckpoint(chaotic: FinishedRun, reference: FinishedRun): void
  trainingState(files: Map<string, Buffer>): {state: Record<string, unknown>; resumedAt: number[]}

  MemoryCheckpoints: new () => MemoryCheckpoints
  /** `stopAfterSteps`: stopRequested() turns true once that many metric records with `loss` were logged */
  trainerContext(config: Record<string, unknown>, checkpoints: CheckpointIO, options?: {stopAfterSteps?: number; workDir?: string}): TestContext

  /** an OpenAI-compatible server on 127.0.0.1 (chat completions, embeddings), recording every request */
  startOpenAiServer(options: {chat?: (req: ChatRequest) => ChatReply; embed?: (text: string) => number[]}): Promise<OpenAiServer>
  /** the question, gold answer and answer of a grader request (the host's grader prompt) */
  gradedFields(req: ChatRequest): {question: string; gold: string; answer: string}
  /** a local port nothing listens on */
  closedPort(): Promise<number>

  /** the scheduler's parse of a workload and its memory estimate */
  workloadSchema: {parse(input: WorkloadInput | unknown): SizedWorkload}
  estimateMemory(workload: SizedWorkload): {totalGiB: number}

  /**
   * Launches a plugin's kind on the AWS Batch emulator (the real runtime in local processes) through
   * the host's launch path, refreshes it until it ends and returns the record. `store` is the run
   * store's URL; `sets` are `--set` overrides; `arraySize` ≥ 2 makes an array job.
   */
  launchOnFakeBatch(options: {pluginRoot: string; kind: string; file: string; sets?: string[]; store: string; arraySize?: number; timeoutMs?: number}): Promise<TestRun>
}

/** The root of the host rfm plugin tests run against (see the module comment). */
export function hostRoot(): string {
  if (process.env.RFM_HOST_ROOT) return path.resolve(process.env.RFM_HOST_ROOT)
  try {
    return path.dirname(createRequire(path.join(process.cwd(), 'noop.js')).resolve('rfm/package.json'))
  } catch {}
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const pjson = path.join(dir, 'package.json')
    if (existsSync(pjson) && (JSON.parse(readFileSync(pjson, 'utf8')) as {name?: string}).name === 'rfm') return dir
    if (path.dirname(dir) === dir) throw new Error('@rfm/plugin-kit/testing: no host rfm found; set RFM_HOST_ROOT to an rfm checkout (built with npm run compile).')
  }
}

/** The host's test helpers: `rfm/testing` resolved as the host package itself sees it. */
export function hostTesting(root = hostRoot()): PluginTesting {
  const hostRequire = createRequire(path.join(root, 'package.json'))
  let file: string
  try {
    file = hostRequire.resolve('rfm/testing')
  } catch (error) {
    throw new Error(`@rfm/plugin-kit/testing: the rfm at ${root} has no testing entry (rfm/testing, built by npm run compile in an rfm checkout; it is not published): ${(error as Error).message}`)
  }
  return (hostRequire(file) as {pluginTesting: PluginTesting}).pluginTesting
}

const testing = hostTesting()

export const {api, trainer, formats, grader, ROOT, BIN, tempHome, rfm, rfmJson, waitFor, assertSchema} = testing
export const {launchAndPullFinal, assertMostKillsLanded, assertSameFinalCheckpoint, trainingState, MemoryCheckpoints, trainerContext} = testing
export const {startOpenAiServer, gradedFields, closedPort, workloadSchema, estimateMemory, launchOnFakeBatch} = testing
