import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {describe, test} from 'node:test'
import {z} from 'zod'

import {parseDuration} from '../../../src/config/duration'
import {loadConfigFile} from '../../../src/config/load'
import {applyOverrides, parseOverride} from '../../../src/config/overrides'
import {validateConfig} from '../../../src/config/validate'
import {ConfigError, UsageError} from '../../../src/errors'
import {coreJobShape} from '../../../src/jobs/core-schema'

const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-config-'))
const file = (name: string, text: string) => {
  const p = path.join(dir, name)
  writeFileSync(p, text)
  return p
}

describe('--set overrides', () => {
  test('values parse as YAML scalars and flow lists', () => {
    assert.deepEqual(parseOverride('data.sample_type_ratio=[0.7,0.3,0.0]'), {path: ['data', 'sample_type_ratio'], value: [0.7, 0.3, 0], source: 'data.sample_type_ratio=[0.7,0.3,0.0]'})
    assert.equal(parseOverride('a=3').value, 3)
    assert.equal(parseOverride('a=true').value, true)
    assert.equal(parseOverride('a="3"').value, '3')
    assert.equal(parseOverride('a=x=y').value, 'x=y')
    assert.equal(parseOverride('a=').value, '')
  })

  test('bad flags are usage errors naming --set', () => {
    for (const bad of ['novalue', '=3', 'a..b=1', 'a=[1,2']) {
      assert.throws(
        () => parseOverride(bad),
        (e: unknown) => e instanceof UsageError && e.message.startsWith(`--set ${bad}`) && e.exitCode === 2,
      )
    }
  })

  test('overrides create nested mappings and never change the input', () => {
    const base = {training: {lr: 1}}
    const out = applyOverrides(base, [parseOverride('training.lr=0.5'), parseOverride('data.path=x')])
    assert.deepEqual(out, {training: {lr: 0.5}, data: {path: 'x'}})
    assert.deepEqual(base, {training: {lr: 1}})
    assert.throws(() => applyOverrides({a: 1}, [parseOverride('a.b=2')]), /a is a single value/)
  })
})

describe('config files', () => {
  test('YAML and JSON load; empty file is an empty mapping', async () => {
    assert.deepEqual(await loadConfigFile(file('a.yaml', 'x: 1\ny: [a, b]\n')), {x: 1, y: ['a', 'b']})
    assert.deepEqual(await loadConfigFile(file('a.json', '{"x": {"y": 2}}')), {x: {y: 2}})
    assert.deepEqual(await loadConfigFile(file('empty.yaml', '')), {})
  })

  test('syntax errors name the line; missing files and non-mappings are config errors', async () => {
    await assert.rejects(loadConfigFile(file('bad.yaml', 'a: 1\nb: [1, 2\n')), (e: ConfigError) => e.code === 'CONFIG_SYNTAX' && /line \d+, column \d+/.test(e.message))
    await assert.rejects(loadConfigFile(file('dup.yaml', 'a: 1\na: 2\n')), (e: ConfigError) => e.code === 'CONFIG_SYNTAX')
    await assert.rejects(loadConfigFile(path.join(dir, 'missing.yaml')), (e: ConfigError) => e.code === 'CONFIG_FILE' && e.message.includes('does not exist'))
    await assert.rejects(loadConfigFile(file('list.yaml', '- 1\n- 2\n')), (e: ConfigError) => e.message.includes('not a list'))
  })
})

describe('validation errors', () => {
  const schema = z.object({...coreJobShape, model: z.object({width: z.number().int().min(8)}).strict()}).strict()

  test('unknown keys get a did-you-mean', () => {
    assert.throws(
      () => validateConfig(schema, {retries: {attemps: 3}, model: {width: 16}}, 'job.yaml'),
      (e: ConfigError) => e.message === 'Config error in job.yaml at retries.attemps: unknown key "attemps".' && e.hint === 'Did you mean "attempts"?' && e.exitCode === 2,
    )
  })

  test('wrong types name the path, what was expected and what was given', () => {
    assert.throws(
      () => validateConfig(schema, {model: {width: 'wide'}}, 'job.yaml'),
      (e: ConfigError) => e.message === 'Config error in job.yaml at model.width: expected a number, got "wide" (a string).',
    )
    assert.throws(
      () => validateConfig(schema, {model: {width: 4}}, 'job.yaml'),
      (e: ConfigError) => e.message.includes('expected a number ≥ 8, got 4'),
    )
    assert.throws(
      () => validateConfig(schema, {model: {}}, 'job.yaml'),
      (e: ConfigError) => e.message.includes('at model.width: is required'),
    )
  })

  test('every problem is listed in details; defaults fill in', () => {
    assert.throws(
      () => validateConfig(schema, {retries: {attempts: 0}, model: {width: 'x'}, extra: 1}, 'job.yaml'),
      (e: ConfigError) => (e.details?.problems as unknown[]).length === 3 && e.message.includes('(2 more:'),
    )
    const ok = validateConfig(schema, {model: {width: 16}, timeout: '1h30m'}, 'job.yaml')
    // attempts is left unset: the launch fills in 5 on an AWS Batch spot queue, 1 elsewhere (issue 18, C1)
    assert.deepEqual(ok.retries, {evaluate_on_exit: []})
    assert.equal(ok.timeout, 5400)
  })

  test('durations', () => {
    assert.equal(parseDuration('90s'), 90)
    assert.equal(parseDuration('2h'), 7200)
    assert.equal(parseDuration(30), 30)
    assert.equal(parseDuration('soon'), undefined)
    assert.equal(parseDuration('0s'), undefined)
  })
})
