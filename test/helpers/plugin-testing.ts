/**
 * The host's testing entry `rfm/testing` (an `exports` entry of package.json): the helpers plugin tests
 * use, reached through `@rfm/plugin-kit/testing` instead of paths into dist/. Typed by the kit's
 * `PluginTesting`, so a helper that drifts from what plugins were promised fails rfm's build.
 * Not published: the root package's `files` hold dist/src only.
 */
import {readFileSync} from 'node:fs'
import * as path from 'node:path'

import type {FormatsCore, GraderCore, TrainerCore} from '@rfm/plugin-api'
import type {PluginTesting} from '@rfm/plugin-kit/testing'

import {BatchBackend} from '../../src/backends/aws-batch'
import type {Profile} from '../../src/config/profiles'
import * as formats from '../../src/formats'
import * as grader from '../../src/grader'
import {launchRun} from '../../src/jobs/launch'
import {findKind, loadKinds} from '../../src/jobs/registry'
import {resolveJob} from '../../src/jobs/resolve'
import {pluginApi} from '../../src/plugin-api/host'
import {RunStore} from '../../src/runs/run-store'
import {estimateMemory} from '../../src/scheduler/memory'
import {workloadSchema} from '../../src/scheduler/workload'
import {openStore} from '../../src/store/open'
import * as trainer from '../../src/trainer'
import {assertMostKillsLanded, assertSameFinalCheckpoint, launchAndPullFinal, trainingState} from './chaos-run'
import {BIN, rfm, rfmJson, ROOT, tempHome, waitFor} from './cli'
import {FakeBatch, finishOnBatch, IMAGE, JOB_DEFINITION, QUEUES, RUNTIME} from './fake-batch'
import {closedPort, gradedFields, startOpenAiServer} from './openai-server'
import {assertSchema} from './schema'
import {MemoryCheckpoints, trainerContext} from './trainer-context'

export const pluginTesting: PluginTesting = {
  api: pluginApi,
  // the modules api.loadTrainer()/loadFormats()/loadGrader() resolve to (src/plugin-api/conformance.ts proves they implement the contract)
  trainer: trainer as unknown as TrainerCore,
  formats: formats as unknown as FormatsCore,
  grader: grader as unknown as GraderCore,
  ROOT,
  BIN,
  tempHome,
  rfm,
  rfmJson,
  waitFor,
  assertSchema,
  launchAndPullFinal,
  assertMostKillsLanded,
  assertSameFinalCheckpoint,
  trainingState,
  MemoryCheckpoints,
  trainerContext,
  startOpenAiServer,
  gradedFields,
  closedPort,
  workloadSchema,
  estimateMemory,
  async launchOnFakeBatch({pluginRoot, kind, file, sets = [], store, arraySize, timeoutMs = 100_000}) {
    const pjson = JSON.parse(readFileSync(path.join(pluginRoot, 'package.json'), 'utf8')) as {name: string}
    const profile: Profile = {backend: 'aws-batch', store, region: 'us-east-1', queues: QUEUES, jobDefinitions: {[kind]: JOB_DEFINITION}, logGroup: '/rfm/jobs'}
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
    const fake = await new FakeBatch({runtime: RUNTIME}).start()
    try {
      const runs = new RunStore(await openStore(store))
      const backend = new BatchBackend({profile, resolveImage: async () => IMAGE, pollMs: 25})
      const kinds = await loadKinds([{name: pjson.name, root: pluginRoot, pjson}])
      const job = await resolveJob(findKind(kinds, kind), {file, sets})
      const launched = await launchRun(job, {profile: {name: 'batch', profile, defaults: []}, runs, backend}, arraySize ? {batch: {arraySize}} : {})
      return await finishOnBatch(backend, runs, launched, timeoutMs)
    } finally {
      await fake.stop()
    }
  },
}
