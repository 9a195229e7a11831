/**
 * The Batch emulator (batch-emulator/) under the name the older tests use, plus their shared setup.
 * See batch-emulator/batch.ts for what it enforces.
 */
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {after, before} from 'node:test'
import {pathToFileURL} from 'node:url'

import {BatchBackend} from '../../src/backends/aws-batch'
import type {Profile} from '../../src/config/profiles'
import {launchRun, type LaunchOptions} from '../../src/jobs/launch'
import {findKind, loadKinds} from '../../src/jobs/registry'
import {resolveJob} from '../../src/jobs/resolve'
import {FINAL_STATES, type RunRecord} from '../../src/runs/record'
import {RunStore} from '../../src/runs/run-store'
import {openStore} from '../../src/store/open'
import {FakeBatch as BatchEmulator, IMAGE, JOB_DEFINITION} from './batch-emulator/batch'
import {PushLogRegistry, serveHttp} from './batch-emulator/http'
import {ROOT} from './cli'

export {batchGlob, OOM_REASON, TIMEOUT_REASON, type FakeBatchOptions, type FakeHost, type FakeJob} from './batch-emulator/batch'
export {IMAGE, JOB_DEFINITION}

export class FakeBatch extends BatchEmulator {
  /** every HTTP request body received by serveHttp */
  readonly httpBodies: string[] = []

  serveHttp(spotPrices: Record<string, number> = {}, registry?: PushLogRegistry): Promise<string> {
    return serveHttp(this, spotPrices, this.httpBodies, registry)
  }
}

// --- setup shared by the batch tests ---

export const RUNTIME = path.join(ROOT, 'dist', 'src', 'runtime', 'main.js')
export const QUEUES = {
  spot: 'arn:aws:batch:us-east-1:123456789012:job-queue/rfm-spot',
  onDemand: 'arn:aws:batch:us-east-1:123456789012:job-queue/rfm-on-demand',
  multiNode: 'arn:aws:batch:us-east-1:123456789012:job-queue/rfm-multi-node',
}

export interface BatchWorld {
  dir: string
  storeDir: string
  profile: Profile
  runs: RunStore
  backend: BatchBackend
  /** writes a job config file into the "laptop" folder (dir/laptop, the command's workdir) and returns its path */
  config(lines: string[]): string
  launch(configFile: string, options?: LaunchOptions, backend?: BatchBackend): Promise<RunRecord>
  /** refreshes the run from (fake) Batch until it ends */
  finish(run: RunRecord, timeoutMs?: number): Promise<RunRecord>
}

/**
 * A store (file:// by default, or an S3 bucket on s3rver), an aws-batch profile and a backend whose
 * image resolution is stubbed.
 */
export async function batchWorld(s3?: {endpoint: string; bucket: string; atBucketRoot?: boolean}): Promise<BatchWorld> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-batch-'))
  // The catalog and profiles read RFM_HOME; keep them away from the user's.
  process.env.RFM_HOME ??= path.join(dir, 'home')
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
  const storeDir = path.join(dir, 'store')
  const profile: Profile = {
    backend: 'aws-batch',
    // At the bucket's root when the job role's policy (which names runs/, datasets/ …) is enforced.
    store: s3 ? (s3.atBucketRoot ? `s3://${s3.bucket}` : `s3://${s3.bucket}/${path.basename(dir)}`) : pathToFileURL(storeDir).href,
    ...(s3 ? {endpoint: s3.endpoint} : {}),
    region: 'us-east-1',
    queues: QUEUES,
    jobDefinitions: {command: JOB_DEFINITION},
    logGroup: '/rfm/jobs',
  }
  const runs = new RunStore(await openStore(profile.store, {endpoint: profile.endpoint, region: profile.region}))
  const backend = new BatchBackend({profile, resolveImage: async () => IMAGE, pollMs: 25, cancelWaitSeconds: 30})
  const kinds = await loadKinds([])
  let n = 0
  return {
    dir,
    storeDir,
    profile,
    runs,
    backend,
    config(lines) {
      // The "laptop" folder: the config's folder is the command's workdir, staged at launch.
      mkdirSync(path.join(dir, 'laptop'), {recursive: true})
      const file = path.join(dir, 'laptop', `job-${++n}.yaml`)
      writeFileSync(file, lines.join('\n') + '\n')
      return file
    },
    async launch(configFile, options = {}, other?: BatchBackend) {
      const job = await resolveJob(findKind(kinds, 'command'), {file: configFile})
      return launchRun(job, {profile: {name: 'batch', profile, defaults: []}, runs, backend: other ?? backend}, options)
    },
    finish: (run, timeoutMs) => finishOnBatch(backend, runs, run, timeoutMs),
  }
}

/** Refreshes a run from (fake) Batch until it ends; throws after `timeoutMs`. */
export async function finishOnBatch(backend: BatchBackend, runs: RunStore, run: RunRecord, timeoutMs = 90_000): Promise<RunRecord> {
  const deadline = Date.now() + timeoutMs
  let latest = await runs.get(run.id)
  while (!FINAL_STATES.has(latest.state)) {
    if (Date.now() > deadline) throw new Error(`run ${run.id} did not finish (state ${latest.state}, batch ${String(latest.backend.status)})`)
    await new Promise((resolve) => setTimeout(resolve, 50))
    latest = await backend.refresh(latest, runs)
  }
  return latest
}

/** The fake Batch the batch tests run against: the real runtime, a 3 s stop grace, checkpoints polled every 20 ms. */
export function startFakeBatch(options: {env?: Record<string, string>} = {env: {RFM_CHECKPOINT_POLL_MS: '20'}}): Promise<FakeBatch> {
  return new FakeBatch({runtime: RUNTIME, graceMs: 3000, ...options}).start()
}

/**
 * For a describe block: a fresh batchWorld and a started fake Batch before its tests, the fake
 * stopped after them. A test that stops the fake puts a new one in `suite.fake`.
 */
export function fakeBatchSuite(): {world: BatchWorld; fake: FakeBatch} {
  const suite = {} as {world: BatchWorld; fake: FakeBatch}
  before(async () => {
    suite.world = await batchWorld()
    suite.fake = await startFakeBatch()
  })
  after(() => suite.fake.stop())
  return suite
}
