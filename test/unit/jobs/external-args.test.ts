/**
 * The external-mode building blocks plugins compose (`api.external`, src/jobs/external-args.ts) and
 * the array slot of the runtime's env (`api.runtime`, src/runtime/protocol.ts), in-process.
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {ConfigError} from '../../../src/errors'
import {pluginApi} from '../../../src/plugin-api/host'

const {argvFromKeys, flagArgs, hfCheckpointSpec, resolveDir} = pluginApi.external
const {arraySlot, shareOf} = pluginApi.runtime

test('flagArgs: true is the bare flag, false nothing for a known switch and "False" otherwise, lists spread, mappings JSON', () => {
  assert.deepEqual(flagArgs('--bf16', true, true), ['--bf16'])
  assert.deepEqual(flagArgs('--bf16', false, true), [])
  assert.deepEqual(flagArgs('--use_peft', false, false), ['--use_peft', 'False'])
  assert.deepEqual(flagArgs('--reward_funcs', ['format', 'accuracy'], true), ['--reward_funcs', 'format', 'accuracy'])
  assert.deepEqual(flagArgs('--deepspeed', {stage: 2}, true), ['--deepspeed', '{"stage":2}'])
  assert.deepEqual(flagArgs('--lr', 0.5, true), ['--lr', '0.5'])
  assert.deepEqual(flagArgs('--x', null, true), [])
})

test('argvFromKeys: set keys in key order, then unknown keys as written; unset keys are left to the script or added with a reason', () => {
  const config = {b: 2, a: 'x', off: false, skip: 'me', unset_one: 7}
  const given = {keys: {a: 'file' as const, b: 'set' as const, off: 'flag' as const, skip: 'file' as const}, extra: {warmup_ratio: 0.1, use_peft: false}}
  const out = argvFromKeys(config, {
    keys: ['a', 'b', 'off', 'skip', 'unset_one', 'required'],
    given,
    value: (key, v) => (key === 'skip' ? undefined : v),
    unset: (key) => (key === 'required' ? {args: ['--required', 'yes'], why: 'the script needs it'} : undefined),
  })
  assert.deepEqual(out.args, ['--a', 'x', '--b', '2', '--required', 'yes', '--warmup_ratio', '0.1', '--use_peft', 'False'])
  assert.deepEqual(out.flagKeys, {'--a': 'a', '--b': 'b', '--warmup_ratio': 'warmup_ratio', '--use_peft': 'use_peft'})
  assert.deepEqual(out.addedFlags, {'--required': 'the script needs it'})
  // a run recorded before rfm kept the given keys: every key of the config counts as set
  assert.deepEqual(argvFromKeys({sensor_lr: 1, epochs: 2}, {keys: ['epochs', 'sensor_lr'], given: undefined, flag: (k) => `--${k.replace(/_/g, '-')}`}).args, ['--epochs', '2', '--sensor-lr', '1'])
})

test('hfCheckpointSpec: checkpoint-<step>/ folders complete at trainer_state.json unless told otherwise; the retention key is always there', () => {
  assert.deepEqual(hfCheckpointSpec('/w/out', {resumeArgs: ['--resume_from_checkpoint', 'True']}), {
    dir: '/w/out',
    layout: 'hf',
    completeMarker: 'trainer_state.json',
    resumeArgs: ['--resume_from_checkpoint', 'True'],
    retention: {saveTotalLimit: undefined},
  })
  assert.equal(hfCheckpointSpec('/w/out', {resumeArgs: [], completeMarker: 'done', saveTotalLimit: 3}).retention.saveTotalLimit, 3)
})

test('resolveDir: resolved against the config folder; a file or a missing path is a config error naming the key, with the hint', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'rfm-resolve-dir-'))
  mkdirSync(path.join(base, 'repo'))
  writeFileSync(path.join(base, 'file'), '')
  assert.equal(resolveDir(base, 'repo', 'external.workdir'), path.join(base, 'repo'))
  for (const given of ['file', 'missing']) {
    assert.throws(
      () => resolveDir(base, given, 'external.workdir', 'relative to the config file'),
      (error: unknown) =>
        error instanceof ConfigError && error.message === `Config error at external.workdir: ${path.join(base, given)} is not a directory.` && error.hint === 'relative to the config file',
    )
  }
})

test("arraySlot/shareOf: RFM_ARRAY_INDEX (or Batch's) of RFM_ARRAY_SIZE; without a size a child takes its own item; no slot takes all", () => {
  const items = ['a', 'b', 'c', 'd', 'e']
  assert.equal(arraySlot({}), undefined)
  assert.deepEqual(shareOf(items, undefined), items)
  const slot = arraySlot({RFM_ARRAY_INDEX: '1', RFM_ARRAY_SIZE: '2'})
  assert.deepEqual(slot, {index: 1, size: 2})
  assert.deepEqual(shareOf(items, slot), ['b', 'd'])
  const noSize = arraySlot({AWS_BATCH_JOB_ARRAY_INDEX: '2'})
  assert.deepEqual(noSize, {index: 2, size: Number.POSITIVE_INFINITY})
  assert.deepEqual(shareOf(items, noSize), ['c'])
})
