import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {describe, test} from 'node:test'

import {rfm, rfmJson, tempHome} from '../helpers/cli'
import {assertSchema} from '../helpers/schema'
import {resolveJob} from '../../src/jobs/resolve'
import {pluginApi} from '../../src/plugin-api/host'

const home = tempHome()
const write = (name: string, text: string) => {
  const file = path.join(home, name)
  writeFileSync(file, text)
  return file
}

/** A user mistake: exit 2, one short paragraph + hint on stderr, no stack trace. */
async function expectUserError(args: string[], mentions: RegExp): Promise<void> {
  const result = await rfm(args, {home})
  assert.equal(result.code, 2, `exit code of rfm ${args.join(' ')}: ${result.stderr}`)
  assert.match(result.stderr, /^Error: .+\nHint: .+\n$/, `one message and one hint:\n${result.stderr}`)
  assert.match(result.stderr, mentions)
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
  const json = await rfmJson(args, {home})
  assert.equal(json.code, 2)
  assertSchema('error', json.json)
  assert.match(`${json.json.error.message}\n${json.json.error.hint}`, mentions)
  assert.equal(json.stderr, '', 'nothing on stderr under --json')
}

describe('config mistakes exit 2 with a message naming the path', () => {
  test('unknown key, with did-you-mean', async () => {
    const file = write('unknown.yaml', 'command: [node, -e, "1"]\nretries:\n  attemps: 3\n')
    await expectUserError(['cloud', 'launch', 'command', '-c', file], /at retries\.attemps: unknown key "attemps"[\s\S]*Did you mean "attempts"/)
  })

  test('wrong type', async () => {
    const file = write('type.yaml', 'command: [node, -e, "1"]\nretries: {attempts: three}\n')
    await expectUserError(['cloud', 'launch', 'command', '-c', file], /at retries\.attempts: expected a number, got "three" \(a string\)/)
  })

  test('bad --set', async () => {
    await expectUserError(['cloud', 'launch', 'command', '--set', 'command'], /--set command: expected KEY=VALUE/)
    await expectUserError(['cloud', 'launch', 'command', '--set', 'command=[a, b'], /--set command=\[a, b: the value .* does not parse/)
  })

  test('missing file', async () => {
    await expectUserError(['cloud', 'launch', 'command', '-c', 'no/such.yaml'], /no\/such\.yaml does not exist/)
  })

  test('malformed YAML names the line', async () => {
    const file = write('bad.yaml', 'command: [node\nretries: {\n')
    await expectUserError(['cloud', 'launch', 'command', '-c', file], /is not valid YAML at line \d+, column \d+/)
  })

  test('a workdir that does not exist', async () => {
    const file = write('wd.yaml', 'command: ls\nworkdir: nowhere\n')
    await expectUserError(['cloud', 'launch', 'command', '-c', file], /at workdir: .*nowhere is not a directory/)
  })

  test('unknown kind, unknown flag, unknown run, unknown profile', async () => {
    await expectUserError(['cloud', 'launch', 'comand'], /Unknown job kind "comand"[\s\S]*Did you mean "command"/)
    await expectUserError(['cloud', 'launch', 'command', '--bogus'], /Nonexistent flag: --bogus/)
    await expectUserError(['cloud', 'status', 'command-20260101-000000-abcd'], /Run command-20260101-000000-abcd does not exist/)
    await expectUserError(['cloud', 'status', 'not-a-run'], /"not-a-run" is not a run id/)
    await expectUserError(['cloud', 'ls', '--profile', 'nope'], /Profile "nope" does not exist/)
    await expectUserError(['config', 'set', 'backend', 'kubernetes'], /at backend: expected one of "local", "aws-batch"/)
  })
})

test('a kind that is not built yet says so (NOT_BUILT, exit 1), rather than pretending', async () => {
  // every first-party kind is built now; the check lives where launches resolve a kind
  const kind = pluginApi.defineJobKind({name: 'later', summary: 'x', schema: pluginApi.z.object({}), notBuilt: 'it arrives with issue 99.'})
  await assert.rejects(resolveJob({kind, plugin: {name: 'x'}}, {}), (error: {code?: string; message: string; exitCode?: number}) => {
    assert.equal(error.code, 'NOT_BUILT')
    assert.match(error.message, /later job kind is not built yet: it arrives with issue 99/)
    return true
  })
})
