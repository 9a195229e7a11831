/**
 * The plugin API's host side, in-process: branded errors render through the host's one handler,
 * configs read like `rfm cloud launch` (file < --set), and runs/checkpoints do what `rfm cloud
 * status`, `rfm ckpt ls` and `rfm ckpt pull` do, over a real file:// store.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {CheckpointStore} from '../../../src/checkpoint/store'
import {toRfmError} from '../../../src/cli/errors'
import {ConfigError, ERROR_BRAND, isRfmError} from '../../../src/errors'
import {pluginApi} from '../../../src/plugin-api/host'
import type {RunRecord} from '../../../src/runs/record'
import {RunStore} from '../../../src/runs/run-store'
import {openStore} from '../../../src/store/open'

const temp = (prefix: string) => mkdtempSync(path.join(os.tmpdir(), prefix))

test('an error branded by another copy of rfm renders as that kind of rfm error; an unbranded one is internal', () => {
  // what a plugin's own copy of src/errors (or a library that brands its errors) throws
  const foreign = Object.assign(new Error('data.image_size must be > 0.'), {[Symbol.for('rfm.error')]: 'ConfigError', code: 'CONFIG_INVALID', exitCode: 2, hint: 'Set data.image_size.'})
  assert.equal(isRfmError(foreign), true)
  const rendered = toRfmError(foreign)
  assert.deepEqual(rendered.toJSON(), {name: 'ConfigError', code: 'CONFIG_INVALID', message: 'data.image_size must be > 0.', exitCode: 2, hint: 'Set data.image_size.'})
  const own = new ConfigError('x.', {hint: 'y'})
  assert.equal(own[ERROR_BRAND], 'ConfigError')
  assert.equal(toRfmError(own), own)
  const internal = toRfmError(new Error('boom'))
  assert.equal(internal.toJSON().code, 'INTERNAL')
  assert.equal(internal.exitCode, 1)
})

test('commands.readConfig: the file, then each --set in order (YAML values); errors name the key and say --set was used', async () => {
  const dir = temp('rfm-kit-config-')
  const file = path.join(dir, 'c.yaml')
  writeFileSync(file, 'lr: 0.1\ndata: {size: 4, name: a}\n')
  const schema = pluginApi.z.object({lr: pluginApi.z.number(), data: pluginApi.z.object({size: pluginApi.z.number().int(), name: pluginApi.z.string()}).strict()}).strict()
  const read = await pluginApi.commands.readConfig({file, sets: ['data.size=8', 'data.size=16', 'lr=1e-3']}, schema, 'See examples/.')
  assert.deepEqual(read, {config: {lr: 0.001, data: {size: 16, name: 'a'}}, baseDir: dir})
  const onlySets = await pluginApi.commands.readConfig({sets: ['lr=2', 'data={size: 1, name: b}'], cwd: dir}, schema, 'See examples/.')
  assert.deepEqual(onlySets, {config: {lr: 2, data: {size: 1, name: 'b'}}, baseDir: dir})
  await assert.rejects(pluginApi.commands.readConfig({file, sets: ['data.sise=3']}, schema, 'See examples/.'), (error: Error & {exitCode?: number; hint?: string}) => {
    assert.match(error.message, /with --set/)
    assert.match(error.message, /data\.sise/)
    assert.equal(error.exitCode, 2)
    return true
  })
})

test('checkpoints.local(dir): checkpoint-<step>/ folders, complete ones only, newest loaded', async () => {
  const dir = temp('rfm-kit-local-')
  const local = pluginApi.checkpoints.local(dir)
  await local.save(2, {'model.safetensors': new Uint8Array([1, 2])}, {global_step: 2})
  await local.save(10, {'model.safetensors': new Uint8Array([3])}, {global_step: 10})
  assert.deepEqual(local.steps(), [2, 10])
  const latest = await local.loadLatest()
  assert.equal(latest?.step, 10)
  assert.deepEqual([...latest!.files['model.safetensors']], [3])
  assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'checkpoint-10', 'trainer_state.json'), 'utf8')), {global_step: 10})
})

test("runs.get, checkpoints.list and checkpoints.pull (RUN, RUN@step, RUN@best) over the active profile's store", async () => {
  const home = temp('rfm-kit-home-')
  const saved = process.env.RFM_HOME
  process.env.RFM_HOME = home
  try {
    const runs = new RunStore(await openStore(`file://${home}/store`))
    const id = 'demo-20261204-000000-ab12'
    const now = new Date().toISOString()
    await runs.create({
      schemaVersion: 1,
      id,
      kind: 'demo',
      plugin: {name: 'rfm'},
      state: 'running',
      createdAt: now,
      updatedAt: now,
      profile: 'default',
      store: runs.store.url,
      backend: {name: 'local'},
      config: {mode: 'eval'},
      attempts: [],
    } as unknown as RunRecord)
    const checkpoints = new CheckpointStore(runs.store, id)
    await checkpoints.commit(1, [['w.bin', Buffer.from('one')]], {metrics: {eval_loss: 0.5}})
    await checkpoints.commit(2, [['w.bin', Buffer.from('two')]], {metrics: {eval_loss: 0.9}})
    await checkpoints.setPointer('best', {step: 1, metric: 0.5})

    const run = await pluginApi.runs.get(id)
    assert.equal(run.id, id)
    assert.equal(run.config.mode, 'eval')
    const listed = await pluginApi.checkpoints.list(id)
    assert.deepEqual(
      listed.checkpoints.map((c) => [c.step, c.tags]),
      [
        [1, ['best']],
        [2, []],
      ],
    )

    // RUN alone: final if the run finished, else the newest
    const newest = await pluginApi.checkpoints.pull(id, path.join(home, 'a'))
    assert.equal(newest.step, 2)
    assert.equal(readFileSync(path.join(home, 'a', 'w.bin'), 'utf8'), 'two')
    assert.equal((await pluginApi.checkpoints.pull(`${id}@best`, path.join(home, 'b'))).step, 1)
    assert.equal((await pluginApi.checkpoints.pull(`${id}@1`, path.join(home, 'c'))).step, 1)
    await assert.rejects(pluginApi.checkpoints.pull(`${id}@final`, path.join(home, 'd')), /has no final checkpoint/)
    await assert.rejects(pluginApi.runs.get('demo-20261204-000000-ff99'), (e: Error & {code?: string}) => e.code === 'NOT_FOUND')
    await assert.rejects(pluginApi.checkpoints.pull('bad ref!', path.join(home, 'e')), (e: Error & {code?: string}) => e.code === 'USAGE')
  } finally {
    if (saved === undefined) delete process.env.RFM_HOME
    else process.env.RFM_HOME = saved
  }
})
