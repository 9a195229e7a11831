/**
 * Plugin commands through @rfm/plugin-kit, as a user runs them: from another working directory, the
 * host reached through its package exports; -c/--config and --set read like `rfm cloud launch`
 * (file < --set); errors rendered like host commands, as data under --json.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {rfm, rfmJson, tempHome} from '../helpers/cli'

const home = tempHome()
const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-plugin-kit-'))

const VLA = `
data:
  generated: {sessions: 6, sensor_every: 3, steps_per_session: 3, image_size: 16}
vl_encoder: {feature_dim: 16}
sensor_temporal_length: 10
sensor_input_channels: 5
sensor_output_dim: 8
builtin:
  backend: wasm
  model: {width: 16, vl_depth: 1, heads: 2, hidden: 32, sensor_channels: 8}
`

test('vla-sensor generate: --set overrides the -c file, run from another working directory', async () => {
  writeFileSync(path.join(dir, 'vla.yaml'), VLA)
  const out = path.join(dir, 'sessions')
  const result = await rfmJson(['vla-sensor', 'generate', '-c', 'vla.yaml', '--set', 'data.generated.sessions=4', '--set', 'data.generated.steps_per_session=2', '--out', out], {home, cwd: dir})
  assert.equal(result.code, 0, result.stderr)
  assert.equal(result.json.sessions, 4)
  assert.equal(result.json.samples, 8)
})

test('a bad --set on a plugin command is a config error naming the key, as data under --json and as text without', async () => {
  const bad = await rfmJson(['vla-sensor', 'generate', '-c', 'vla.yaml', '--set', 'data.generated.sesions=4', '--out', path.join(dir, 'x')], {home, cwd: dir})
  assert.equal(bad.code, 2)
  assert.equal(bad.json.error.name, 'ConfigError')
  assert.match(bad.json.error.message, /with --set/)
  assert.match(bad.json.error.message, /sesions/)
  const text = await rfm(['vla-sensor', 'generate', '-c', 'vla.yaml', '--set', 'data.generated.sessions=-1', '--out', path.join(dir, 'x')], {home, cwd: dir})
  assert.equal(text.code, 2)
  assert.match(text.stderr, /^Error: .*data\.generated\.sessions/m)
  assert.doesNotMatch(text.stderr, /\n\s+at /, 'no stack trace for a user mistake')
})

test('rm-eval train takes -c FILE or the argument, not both; the config comes from somewhere', async () => {
  const both = await rfmJson(['rm-eval', 'train', 'a.yaml', '-c', 'b.yaml'], {home, cwd: dir})
  assert.equal(both.code, 2)
  assert.equal(both.json.error.code, 'USAGE')
  const none = await rfmJson(['rm-eval', 'train'], {home, cwd: dir})
  assert.equal(none.code, 2)
  assert.match(none.json.error.message, /Missing the config/)
})
