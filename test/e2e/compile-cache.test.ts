import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import * as nodeModule from 'node:module'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {BIN, ROOT} from '../helpers/cli'

// bin/compile-cache.js: the CLI's V8 code cache on Node 20. What it must never do is run stale code
// or break import(); these run small programs through it in child processes.
const enabled = typeof (nodeModule as {enableCompileCache?: unknown}).enableCompileCache !== 'function'

function setup() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-code-cache-'))
  const cacheHome = path.join(dir, 'cache')
  const main = path.join(dir, 'main.js')
  writeFileSync(main, `require(${JSON.stringify(path.join(ROOT, 'bin', 'compile-cache.js'))}).enable()\nrequire('./answer.js').print()\n`)
  const run = () => execFileSync(process.execPath, [main], {env: {...process.env, XDG_CACHE_HOME: cacheHome, NODE_DISABLE_COMPILE_CACHE: ''}, encoding: 'utf8'}).trim()
  return {dir, cacheHome, run}
}

test('a changed file runs its new code, even at the same length (V8 itself checks only the length)', {skip: !enabled && 'Node ≥ 22 uses its own cache'}, () => {
  const {dir, cacheHome, run} = setup()
  writeFileSync(path.join(dir, 'answer.js'), "exports.print = () => console.log('aaa')\n")
  assert.equal(run(), 'aaa')
  assert.equal(readdirSync(path.join(cacheHome, 'rfm')).length, 1, 'the first run writes the cache')
  assert.equal(run(), 'aaa')
  writeFileSync(path.join(dir, 'answer.js'), "exports.print = () => console.log('bbb')\n")
  assert.equal(run(), 'bbb')
  assert.equal(run(), 'bbb')
})

test('import() works in files loaded while the cache is on, cold and warm', {skip: !enabled && 'Node ≥ 22 uses its own cache'}, () => {
  const {dir, run} = setup()
  writeFileSync(path.join(dir, 'value.js'), 'exports.value = 42\n')
  writeFileSync(path.join(dir, 'answer.js'), "exports.print = () => import('./value.js').then((m) => console.log(m.value))\n")
  assert.equal(run(), '42')
  assert.equal(run(), '42')
})

test('a damaged cache file is ignored and replaced', {skip: !enabled && 'Node ≥ 22 uses its own cache'}, () => {
  const {dir, cacheHome, run} = setup()
  writeFileSync(path.join(dir, 'answer.js'), "exports.print = () => console.log('ok')\n")
  assert.equal(run(), 'ok')
  const file = path.join(cacheHome, 'rfm', readdirSync(path.join(cacheHome, 'rfm'))[0])
  writeFileSync(file, Buffer.from([255, 255, 255, 255, 1, 2, 3]))
  assert.equal(run(), 'ok')
  assert.equal(run(), 'ok')
})

test('a relative require that moves between a file and a folder follows it (resolutions are cached only for files of rfm)', {skip: !enabled && 'Node ≥ 22 uses its own cache'}, () => {
  const dir = mkdtempSync(path.join(ROOT, 'dist', 'rfm-resolve-cache-'))
  try {
    const cacheHome = path.join(dir, 'cache')
    const main = path.join(dir, 'main.js')
    writeFileSync(main, `require(${JSON.stringify(path.join(ROOT, 'bin', 'compile-cache.js'))}).enable()\nrequire('./lib').print()\n`)
    const run = () => execFileSync(process.execPath, [main], {env: {...process.env, XDG_CACHE_HOME: cacheHome, NODE_DISABLE_COMPILE_CACHE: ''}, encoding: 'utf8'}).trim()
    writeFileSync(path.join(dir, 'lib.js'), "exports.print = () => console.log('file')\n")
    assert.equal(run(), 'file')
    assert.equal(run(), 'file')
    rmSync(path.join(dir, 'lib.js'))
    mkdirSync(path.join(dir, 'lib'))
    writeFileSync(path.join(dir, 'lib', 'index.js'), "exports.print = () => console.log('folder')\n")
    assert.equal(run(), 'folder')
    writeFileSync(path.join(dir, 'lib.js'), "exports.print = () => console.log('file again')\n")
    assert.equal(run(), 'file again', 'lib.js shadows lib/index.js, as in Node')
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

test('the CLI prints the same with and without the cache', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'rfm-code-cache-home-'))
  const cacheHome = path.join(home, 'cache')
  const cli = (disable: string) =>
    execFileSync(process.execPath, [BIN, 'cloud', 'launch', 'command', '-c', 'examples/command/hello.yaml', '--dry-run', '--json'], {
      cwd: ROOT,
      env: {...process.env, RFM_HOME: home, XDG_CACHE_HOME: cacheHome, NODE_DISABLE_COMPILE_CACHE: disable},
      encoding: 'utf8',
    })
  const strip = (out: string) => {
    const json = JSON.parse(out) as {run: Record<string, unknown>}
    for (const key of ['id', 'createdAt', 'updatedAt']) delete json.run[key]
    return json
  }
  const plain = strip(cli('1'))
  strip(cli('')) // fills the cache
  assert.deepEqual(strip(cli('')), plain)
  if (enabled) assert.ok(existsSync(path.join(cacheHome, 'rfm')))
})
