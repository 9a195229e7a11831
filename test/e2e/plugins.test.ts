import assert from 'node:assert/strict'
import {test} from 'node:test'

import {rfm, rfmJson, tempHome} from '../helpers/cli'
import {assertSchema} from '../helpers/schema'

const home = tempHome()
const FIRST_PARTY = ['@rfm/plugin-grpo', '@rfm/plugin-rm-eval', '@rfm/plugin-sft', '@rfm/plugin-vla-sensor']

test('rfm --help shows the topics with a space separator', async () => {
  const result = await rfm(['--help'], {home})
  assert.equal(result.code, 0)
  for (const topic of ['cloud', 'config', 'plugins']) assert.match(result.stdout, new RegExp(`^  ${topic} `, 'm'))
  const launch = await rfm(['cloud', 'launch', '--help'], {home})
  assert.match(launch.stdout, /\$ rfm cloud launch KIND/)
})

test('rfm plugins lists the first-party plugins as core plugins with their job kinds', async () => {
  const {code, json} = await rfmJson(['plugins'], {home})
  assert.equal(code, 0)
  assertSchema('plugins', json)
  const rfmPlugins = json.plugins.filter((p: {name: string}) => p.name.startsWith('@rfm/'))
  assert.deepEqual(rfmPlugins.map((p: {name: string}) => p.name).sort(), FIRST_PARTY)
  for (const p of rfmPlugins) {
    assert.equal(p.type, 'core')
    assert.equal(p.jobKinds, './dist/kinds.js')
  }
  const text = await rfm(['plugins'], {home})
  for (const name of FIRST_PARTY) assert.match(text.stdout, new RegExp(name))
})

test('job kinds come from the plugins: each first-party kind is known to launch', async () => {
  // every first-party kind is built: their own config checks answer (a key they do not have)
  for (const kind of ['rm-eval', 'vla-sensor', 'grpo', 'sft']) {
    const {json} = await rfmJson(['cloud', 'launch', kind, '--set', 'no_such_key=1'], {home})
    assert.equal(json.error.code, 'CONFIG_INVALID', JSON.stringify(json.error))
  }
})
