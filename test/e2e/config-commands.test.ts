import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import * as path from 'node:path'
import {test} from 'node:test'
import {pathToFileURL} from 'node:url'

import {ROOT, rfm, rfmJson, tempHome} from '../helpers/cli'
import {assertSchema} from '../helpers/schema'

test('a fresh machine works with no configuration: local backend, store under RFM_HOME', async () => {
  const home = tempHome()
  const {code, json} = await rfmJson(['config', 'show'], {home})
  assert.equal(code, 0)
  assertSchema('config-show', json)
  assert.equal(json.profile, 'default')
  assert.deepEqual(json.settings, {backend: 'local', store: pathToFileURL(path.join(home, 'store')).href})
  assert.deepEqual(json.defaults.sort(), ['backend', 'store'])
  const profiles = await rfmJson(['config', 'profiles'], {home})
  assertSchema('config-profiles', profiles.json)
  assert.deepEqual(profiles.json, {active: 'default', profiles: ['default']})
})

test('config set / use / --profile / RFM_PROFILE, validated before writing', async () => {
  const home = tempHome()
  const set = await rfmJson(['config', 'set', 'region', 'eu-west-1', '--profile', 'team'], {home})
  assertSchema('config-show', set.json)
  assert.equal(set.json.settings.region, 'eu-west-1')
  await rfm(['config', 'set', 'store', 'file:///tmp/rfm-team-store', '--profile', 'team'], {home})
  // An invalid value is refused and the file keeps the previous, valid content.
  const bad = await rfmJson(['config', 'set', 'store', 'ftp://nope', '--profile', 'team'], {home})
  assert.equal(bad.code, 2)
  assert.match(bad.json.error.message, /at store: expected a store URL/)
  const before = readFileSync(path.join(home, 'config.json'), 'utf8')
  assert.match(before, /rfm-team-store/)

  assert.equal((await rfmJson(['config', 'show'], {home})).json.profile, 'default')
  assert.equal((await rfmJson(['config', 'show'], {home, env: {RFM_PROFILE: 'team'}})).json.profile, 'team')
  const use = await rfmJson(['config', 'use', 'team'], {home})
  assertSchema('config-use', use.json)
  const shown = (await rfmJson(['config', 'show'], {home})).json
  assert.equal(shown.profile, 'team')
  assert.equal(shown.settings.store, 'file:///tmp/rfm-team-store')
  assert.deepEqual(shown.defaults, ['backend'])

  const unset = await rfmJson(['config', 'set', 'region', '--unset'], {home})
  assert.equal(unset.json.settings.region, undefined)
  assert.equal((await rfmJson(['config', 'set', 'colour', 'red'], {home})).json.error.code, 'USAGE')
  assert.equal((await rfmJson(['config', 'use', 'ghost'], {home})).json.error.code, 'NOT_FOUND')
})

test('an aws-batch profile without queues: launch says to run rfm infra up, and records nothing', async () => {
  const home = tempHome()
  await rfm(['config', 'set', 'backend', 'aws-batch'], {home})
  assert.deepEqual((await rfmJson(['cloud', 'ls'], {home})).json.runs, [])
  const example = path.join(ROOT, 'examples', 'command', 'hello.yaml')
  const {code, json} = await rfmJson(['cloud', 'launch', 'command', '-c', example], {home})
  assert.equal(code, 2)
  assert.equal(json.error.code, 'CONFIG_INVALID')
  assert.match(json.error.hint, /rfm infra up/)
  assert.deepEqual((await rfmJson(['cloud', 'ls'], {home})).json.runs, [])
})

test('--dry-run prints the resolved config and the command, and starts nothing', async () => {
  const home = tempHome()
  const example = path.join(ROOT, 'examples', 'command', 'hello.yaml')
  const {code, json} = await rfmJson(['cloud', 'launch', 'command', '-c', example, '--set', 'env.STEPS=9', '--dry-run'], {home})
  assert.equal(code, 0)
  assertSchema('cloud-launch', json)
  assert.equal(json.dryRun, true)
  assert.deepEqual(json.command, {argv: ['node', 'train.js'], cwd: path.join(ROOT, 'examples', 'command'), env: {STEPS: '9', GREETING: 'hello from rfm'}})
  assert.deepEqual(json.run.retries, {attempts: 2, evaluate_on_exit: []})
  assert.equal(json.run.timeoutSeconds, 300)
  assert.deepEqual(json.run.source.overrides, ['env.STEPS=9'])
  const text = await rfm(['cloud', 'launch', 'command', '-c', example, '--dry-run'], {home})
  assert.match(text.stdout, /Would run: node train\.js\n {7}in: /)
  assert.deepEqual((await rfmJson(['cloud', 'ls'], {home})).json.runs, [])
})
