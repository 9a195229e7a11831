/**
 * Launch-time staging: a job kind that marks dataset fields gets local paths there staged and
 * replaced by ds: references in the recorded run config, before the backend sees the run.
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {after, test} from 'node:test'

import type {Backend} from '../../../src/backends/types'
import {launchRun} from '../../../src/jobs/launch'
import type {ResolvedJob} from '../../../src/jobs/resolve'
import {pluginApi} from '../../../src/plugin-api/host'
import type {RunRecord} from '../../../src/runs/record'
import {RunStore} from '../../../src/runs/run-store'
import {resolveRef, stageTree} from '../../../src/staging'
import {FileStore} from '../../../src/store/file-store'

const scratch = mkdtempSync(path.join(os.tmpdir(), 'rfm-launch-stage-'))
process.env.RFM_HOME = path.join(scratch, 'home')
after(() => rmSync(scratch, {recursive: true, force: true}))

test('launch stages local dataset paths and records their references', async () => {
  const configDir = path.join(scratch, 'project')
  mkdirSync(path.join(configDir, 'data', 'train'), {recursive: true})
  for (let i = 0; i < 5; i++) writeFileSync(path.join(configDir, 'data', 'train', `${i}.npz`), `sample ${i}`)
  const kind = pluginApi.defineJobKind({
    name: 'toy',
    summary: 'a kind with a dataset field',
    schema: pluginApi.z.object({data: pluginApi.z.object({train: pluginApi.z.string(), eval: pluginApi.z.string().optional()})}),
    datasetFields: ['data.train', 'data.eval'],
  })
  const job: ResolvedJob = {
    kind,
    plugin: {name: 'test'},
    config: {data: {train: 'data/train', eval: 'ds:held-out@0123456789ab'}},
    retries: {attempts: 1, evaluate_on_exit: []},
    source: {file: path.join(configDir, 'job.yaml'), overrides: []},
  }
  const submitted: RunRecord[] = []
  const backend: Backend = {
    name: 'local',
    title: 'a test backend',
    runsJobsHere: true,
    requestFor: () => ({record: {name: 'local'}, defaultAttempts: 1}),
    submit: async (run) => void submitted.push(run),
    cancel: async (run) => run,
    observe: async () => ({}),
  }
  const store = new FileStore(path.join(scratch, 'store'))
  // a reference is left as it is, but it must exist at launch (reliability D10)
  mkdirSync(path.join(scratch, 'held-out'))
  writeFileSync(path.join(scratch, 'held-out', 'x.npz'), 'held out')
  const heldOut = (await stageTree(store, path.join(scratch, 'held-out'), {name: 'held-out'})).ref
  ;(job.config.data as {eval: string}).eval = heldOut
  const runs = new RunStore(store)
  const staged: string[] = []
  const run = await launchRun(
    job,
    {profile: {name: 'default', profile: {backend: 'local', store: store.url}, defaults: []}, runs, backend},
    {onStaged: (s) => staged.push(`${s.field} ${s.path} ${s.ref}`)},
  )

  const train = (run.config.data as {train: string}).train
  assert.match(train, /^ds:train@[0-9a-f]{12}$/)
  assert.equal((run.config.data as {eval: string}).eval, heldOut)
  assert.deepEqual(staged, [`data.train ${path.join(configDir, 'data', 'train')} ${train}`])
  assert.equal((await runs.get(run.id)).config.data && ((await runs.get(run.id)).config.data as {train: string}).train, train, 'the recorded config holds the reference')
  assert.equal(submitted.length, 1)
  assert.equal((await resolveRef(store, train)).entry?.files, 5)
})
