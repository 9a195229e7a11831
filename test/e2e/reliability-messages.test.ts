/**
 * Reliability report D15: errors the user caused are never "a bug in rfm", the did-you-mean shows
 * in text output too, and zod's own wording never reaches the user (C14, C16, C37, C38, F25, K19,
 * K44, K45, K50, P5, R4 #10, #11, #36, #39).
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {toRfmError} from '../../src/cli/errors'
import {pullCheckpoint} from '../../src/checkpoint/pull'
import {CheckpointStore} from '../../src/checkpoint/store'
import {pullDataset, stageTree} from '../../src/staging'
import {FileStore} from '../../src/store/file-store'
import {rfm, tempHome} from '../helpers/cli'

const scratch = mkdtempSync(path.join(os.tmpdir(), 'rfm-rel-msg-'))
const write = (name: string, text: string) => {
  const file = path.join(scratch, name)
  writeFileSync(file, text)
  return file
}
const home = tempHome()
const RAW_ZOD = /Unrecognized key|Invalid enum value|Invalid url|Invalid input|different kind of value|Number must be|KIND/

async function userError(args: string[], pattern: RegExp): Promise<string> {
  const result = await rfm(args, {home})
  assert.equal(result.code, 2, `rfm ${args.join(' ')}: ${result.stderr}`)
  assert.match(result.stderr, pattern)
  assert.doesNotMatch(result.stderr, RAW_ZOD)
  assert.doesNotMatch(result.stderr, /bug in rfm|Internal error/)
  return result.stderr
}

test('file-system errors of the user are not labelled bugs (R4 #10, #11, #36)', async () => {
  const denied = Object.assign(new Error("EACCES: permission denied, open '/data/locked'"), {code: 'EACCES', errno: -13, syscall: 'open', path: '/data/locked'})
  const e = toRfmError(denied)
  assert.equal(e.exitCode, 2)
  assert.match(e.message, /Permission denied: \/data\/locked \(open\)/)
  assert.doesNotMatch(`${e.message} ${e.hint}`, /bug in rfm/)
  // pull into an existing file
  const store = new FileStore(path.join(scratch, 'store'))
  mkdirSync(path.join(scratch, 'tree'))
  writeFileSync(path.join(scratch, 'tree', 'a.txt'), 'a')
  const {ref} = await stageTree(store, path.join(scratch, 'tree'), {name: 'tree'})
  const file = write('existing-file', 'keep')
  await assert.rejects(pullDataset(store, ref, file), (error: Error & {exitCode?: number}) => error.exitCode === 2 && /exists and is not a folder/.test(error.message))
})

test('a crafted checkpoint path is refused as such, not as an internal error (R4 #39)', async () => {
  const store = new FileStore(path.join(scratch, 'ckpt-store'))
  const run = 'command-20261204-000000-abcd'
  const crafted = {schemaVersion: 1, step: 4, createdAt: '', files: [{path: '../../pwned-ckpt', size: 1, sha256: 'x'}]}
  await store.put(`runs/${run}/checkpoints/step-4/manifest.json`, JSON.stringify(crafted))
  const checkpoints = new CheckpointStore(store, run)
  const [only] = await checkpoints.list()
  await assert.rejects(
    pullCheckpoint(checkpoints, only, path.join(scratch, 'ck')),
    (error: Error & {exitCode?: number}) => error.exitCode === 2 && /unsafe path "..\/..\/pwned-ckpt"/.test(error.message),
  )
})

test('config messages speak rfm, not zod (C14, C16, C37, C38, F25, P5)', async () => {
  await userError(['cloud', 'launch', 'command', '-c', write('env.yaml', 'command: [node]\nenv:\n  A: {nested: 1}\n'), '--dry-run'], /env\.A: expected a string, a number or a boolean, got a mapping/)
  await userError(
    ['cloud', 'launch', 'command', '-c', write('env-alias.yaml', 'x: &c [1, 2]\ncommand: [node]\nenv:\n  X: *c\n'), '--dry-run'],
    /env\.X: expected a string, a number or a boolean, got a list/,
  )
  await userError(
    ['cloud', 'launch', 'command', '-c', write('c.json', '{\n  // comment\n  "command": ["node"]\n}\n'), '--dry-run'],
    /c\.json is not valid JSON at line 2, column 3: JSON has no comments/,
  )
  await userError(
    ['cloud', 'launch', 'command', '-c', write('c2.json', '{"command": ["node"], /* c */ "name": "x",}\n'), '--dry-run'],
    /c2\.json is not valid JSON at line 1, column \d+: JSON has no comments/,
  )
  // the did-you-mean leads the text message, not only --json
  const text = await userError(['cloud', 'launch', 'command', '-c', write('typo.yaml', 'comand: [node]\n'), '--dry-run'], /at comand: unknown key "comand"/)
  assert.match(text, /Did you mean "command"\?/)
  await userError(['config', 'set', 'endpoint', 'notaurl'], /endpoint: expected a URL such as http:\/\/127\.0\.0\.1:9000, got "notaurl"/)
})

test('plugin kinds: no raw zod text (K19, K44, K45, K50)', async () => {
  await userError(
    ['cloud', 'launch', 'sft', '-c', 'examples/sft/spatial-sft.yaml', '--set', 'report_to=mlflow', '--dry-run'],
    /report_to: expected "tensorboard", "wandb", "none" or a list, got "mlflow"/,
  )
  await userError(['cloud', 'launch', 'rm-eval', '-c', 'examples/rm-eval/train.yaml', '--set', 'builtin.model.width=3', '--dry-run'], /builtin\.model\.width: expected a number ≥ 8, got 3/)
  const bogus = await userError(['cloud', 'launch', 'rm-eval', '-c', 'examples/rm-eval/train.yaml', '--set', 'builtin.bogsu=1', '--dry-run'], /builtin\.bogsu: unknown key "bogsu"/)
  assert.match(bogus, /Keys allowed here: .*model/)
  await userError(
    ['cloud', 'launch', 'rm-eval', '-c', 'examples/rm-eval/train.yaml', '--set', 'builtin.scheduler=linear', '--dry-run'],
    /builtin\.scheduler: expected one of "constant", "cosine", got "linear"/,
  )
})
