/**
 * Reliability report D6, D9, D12, D14, D16, D17: limits and coercions of config input. In-process
 * where the CLI is not the point; the cases are the report's (C5, C6, C23, C36, C40, C47, C51, C52,
 * C53, S11, S12, F19, P8).
 */
import assert from 'node:assert/strict'
import {execFileSync, spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'
import {z} from 'zod'

import {parseChaos} from '../../src/backends/local/chaos'
import {loadConfigFile} from '../../src/config/load'
import {applyOverrides, parseOverride} from '../../src/config/overrides'
import {validateConfig} from '../../src/config/validate'
import {coreJobShape} from '../../src/jobs/core-schema'
import {rfm, tempHome} from '../helpers/cli'

const scratch = mkdtempSync(path.join(os.tmpdir(), 'rfm-rel-input-'))
const write = (name: string, text: string | Buffer) => {
  const file = path.join(scratch, name)
  writeFileSync(file, text)
  return file
}
const core = z.object(coreJobShape).strict()
const exit2 = (pattern: RegExp) => (e: Error & {exitCode?: number}) => {
  assert.match(e.message, pattern)
  assert.equal(e.exitCode, 2, e.message)
  return true
}

test('D6 (C5, C6): timeouts beyond what a timer can hold are refused, naming the maximum', () => {
  for (const timeout of ['99999999999999999999h', '25d', '30d', 2_200_000]) {
    assert.throws(() => validateConfig(core, {timeout}, 'job.yaml'), exit2(/timeout: expected a duration of at most 24d/))
  }
  assert.equal(validateConfig(core, {timeout: '24d'}, 'job.yaml').timeout, 24 * 86400)
})

test('D9 (C47): reading a config is linear in its keys; duplicate keys are still refused', {timeout: 60_000}, async () => {
  // 100k keys: about 130 s with yaml's quadratic uniqueKeys (40k took 20.7 s), a few seconds now
  const lines = ['command: [node, -e, "0"]', 'env:']
  for (let i = 0; i < 100_000; i++) lines.push(`  K${i}: ${i}`)
  const config = await loadConfigFile(write('many.yaml', lines.join('\n') + '\n'))
  assert.equal(Object.keys(config.env as object).length, 100_000)
  await assert.rejects(loadConfigFile(write('dup.yaml', 'name: a\nenv:\n  X: 1\n  X: 2\n')), exit2(/dup\.yaml is not valid YAML at line 4, column 3: the key "X" appears twice in one mapping/))
})

test('D12 (C51, C52): YAML bombs are config errors naming the file', async () => {
  const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  for (let i = 1; i < 9; i++)
    levels.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
        .fill(`*${String.fromCharCode(96 + i)}`)
        .join(',')}]`,
    )
  const bomb = write('bomb.yaml', levels.join('\n') + '\n')
  await assert.rejects(loadConfigFile(bomb), exit2(/Config file .*bomb\.yaml is not valid YAML: its aliases \(\*name\) expand too far/))
  // under yaml's alias limit, but 90 × 1 MB: refused before it becomes a 91 MB run record
  const big = write('big.yaml', `s: &s "${'x'.repeat(1024 * 1024)}"\nenv:\n${Array.from({length: 90}, (_, i) => `  V${i}: *s`).join('\n')}\n`)
  await assert.rejects(loadConfigFile(big), exit2(/big\.yaml expands to 91\.\d MB \(aliases resolved\); a config may hold at most 4 MB/))
  await assert.rejects(loadConfigFile(write('huge.yaml', `name: "${'y'.repeat(5 * 1024 * 1024)}"\n`)), exit2(/huge\.yaml is larger than 4 MB/))
})

test('D12: a value too long for exec fails the launch, not the attempt (spawn E2BIG)', async () => {
  const home = tempHome()
  const file = write('long-env.yaml', `command: [node, -e, "0"]\nenv:\n  BIG: "${'z'.repeat(200 * 1024)}"\n`)
  const result = await rfm(['cloud', 'launch', 'command', '-c', file, '--dry-run'], {home})
  assert.equal(result.code, 2, result.stderr)
  assert.match(result.stderr, /env\.BIG is 200 KiB; an argument or environment variable may hold at most 128 KiB/)
})

test('D14 (S11, S12): --set cannot reach Object.prototype', async () => {
  for (const flag of ['__proto__.polluted=1', '__proto__.command=[echo,pwned]', 'constructor.prototype.x=1', 'env.__proto__=1']) {
    assert.throws(() => applyOverrides({}, [parseOverride(flag)]), exit2(/is not a config key/))
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
  const result = await rfm(['cloud', 'launch', 'command', '--set', '__proto__.command=[echo,pwned]', '--dry-run'], {home: tempHome()})
  assert.equal(result.code, 2)
  assert.match(result.stderr, /--set __proto__\.command=\[echo,pwned\]: "__proto__" is not a config key/)
})

test('D16 (C23, C36, C40, F19): garbage names, signals, kills and bytes are refused', async () => {
  assert.throws(
    () => validateConfig(core, {retries: {attempts: 2, evaluate_on_exit: [{on_signal: 'SIGFOO', action: 'retry'}]}}, 'job.yaml'),
    exit2(/on_signal: expected a signal name such as SIGKILL or TERM, got "SIGFOO"/),
  )
  assert.equal(validateConfig(core, {retries: {attempts: 2, evaluate_on_exit: [{on_signal: 'term', action: 'retry'}]}}, 'job.yaml').retries.evaluate_on_exit[0].on_signal, 'SIGTERM')
  for (const name of ['a\nb', 'a\u0000b']) assert.throws(() => validateConfig(core, {name}, 'job.yaml'), exit2(/name: expected a name without control characters/))
  assert.throws(() => parseChaos('kills=99999999999,seed=1'), exit2(/kills must be at most 1000/))
  await assert.rejects(loadConfigFile(write('latin1.yaml', Buffer.from('name: caf\xe9\n', 'latin1'))), exit2(/latin1\.yaml is not UTF-8 text \(an invalid byte 0xe9 near offset 9\)/))
})

test('D16 (P8): a profile name cannot be a path', async () => {
  const home = tempHome()
  const result = await rfm(['config', 'set', 'region', 'us-east-1', '--profile', '../../x'], {home})
  assert.equal(result.code, 2, result.stderr)
  assert.match(result.stderr, /Invalid profile name "..\/..\/x"/)
})

test('D17 (C53): -c FIFO with no writer is refused at once; a FIFO with a writer is read', {timeout: 20_000}, async () => {
  const fifo = path.join(scratch, 'fifo.yaml')
  execFileSync('mkfifo', [fifo])
  await assert.rejects(loadConfigFile(fifo), exit2(/fifo\.yaml is a FIFO with no writer/))
  const piped = path.join(scratch, 'piped.yaml')
  execFileSync('mkfifo', [piped])
  // like `-c <(…)`: the writer holds the pipe open and writes a moment later
  const writer = spawn('sh', ['-c', `exec 3<>${piped}; sleep 0.3; echo "name: piped" >&3; exec 3>&-`])
  const exited = new Promise((resolve) => writer.on('exit', resolve))
  await new Promise((resolve) => setTimeout(resolve, 100))
  assert.deepEqual(await loadConfigFile(piped), {name: 'piped'})
  await exited
})
