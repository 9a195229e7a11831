/**
 * The runtime parses the recorded config once, with this image's version of the kind's schema, and
 * hands the parsed config (defaults filled in) to the kind's hooks; a config this version rejects
 * ends the attempt with exit 2 (EXIT_USAGE: no backend retries it), naming the key.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import type {RunRecord} from '../../src/runs/record'
import {newRunId} from '../../src/runs/run-id'
import {RunStore} from '../../src/runs/run-store'
import {EXIT_USAGE} from '../../src/runtime/protocol'
import {FileStore} from '../../src/store/file-store'

const RUNTIME = path.join(__dirname, '..', '..', 'src', 'runtime', 'main.js')

async function runRecorded(config: Record<string, unknown>): Promise<{code: number | null; output: string; events: string[]}> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-recorded-'))
  const store = new FileStore(path.join(dir, 'store'))
  const runs = new RunStore(store)
  const time = new Date().toISOString()
  const run: RunRecord = {
    schemaVersion: 1,
    id: newRunId('command'),
    kind: 'command',
    plugin: {name: 'rfm'},
    state: 'running',
    createdAt: time,
    updatedAt: time,
    profile: 'test',
    store: store.url,
    backend: {name: 'local'},
    config: {workdir: dir, ...config},
    source: {overrides: []},
    retries: {attempts: 1, evaluate_on_exit: []},
    attempts: [],
  }
  await runs.create(run)
  const out = spawnSync(process.execPath, [RUNTIME], {env: {...process.env, RFM_STORE: store.url, RFM_RUN_ID: run.id, RFM_ATTEMPT: '1'}, encoding: 'utf8', timeout: 60_000})
  return {code: out.status, output: out.stdout + out.stderr, events: (await runs.events(run.id)).map((e) => e.type)}
}

test("hooks get the recorded config parsed: keys left out get this version's defaults", async () => {
  // outputs and env are left out: the command kind's external() reads their defaults ([] and {})
  const {code, output} = await runRecorded({command: [process.execPath, '-e', 'console.log("trainer ran")']})
  assert.equal(code, 0, output)
  assert.match(output, /trainer ran/)
})

test("a recorded config this image's plugin version rejects ends the attempt with exit 2, naming the key", async () => {
  const {code, output, events} = await runRecorded({command: [process.execPath, '-e', 'console.log("trainer ran")'], max_stepz: 3})
  assert.equal(code, EXIT_USAGE, output)
  assert.match(output, /this image's rfm \S+ version rejects the recorded config: max_stepz: unknown key "max_stepz"/)
  assert.doesNotMatch(output, /trainer ran|runtime failed/)
  assert.ok(events.includes('config_rejected'), events.join(' '))
})
