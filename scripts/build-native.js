#!/usr/bin/env node
// Builds native/kernels.c into dist/native/rfm_native.node: the trainer's matrix products in the
// machine's OpenBLAS (src/trainer/native-kernels.ts). Optional by design: without a C compiler or
// Node's headers the build says so in one line and the trainer keeps tfjs-wasm's own products.
// Run by `npm run compile`; rebuilds only when the source or this script is newer than the module.
// Nothing is downloaded: Node's headers come with Node (include/node), OpenBLAS is opened at run time.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const {spawnSync} = require('node:child_process')

const root = path.resolve(__dirname, '..')
const source = path.join(root, 'native', 'kernels.c')
// --out PATH: build elsewhere (the tests use it, so they never touch the module in use)
const outArg = process.argv.indexOf('--out')
const out = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : path.join(root, 'dist', 'native', 'rfm_native.node')

function skip(why) {
  fs.rmSync(out, {force: true})
  console.log(`native kernels not built (${why}); the trainer uses tfjs-wasm's own kernels`)
}

function headers() {
  const candidates = [path.resolve(path.dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node']
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'node_api.h')))
}

function main() {
  if (process.env.RFM_NO_NATIVE === '1') return skip('RFM_NO_NATIVE=1')
  if (process.platform === 'win32') return skip('not supported on Windows')
  const newest = Math.max(fs.statSync(source).mtimeMs, fs.statSync(__filename).mtimeMs)
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= newest) return
  const include = headers()
  if (!include) return skip("Node's headers (node_api.h) not found next to node")
  const cc = process.env.CC || 'cc'
  fs.mkdirSync(path.dirname(out), {recursive: true})
  const temp = `${out}.${process.pid}.tmp`
  const args = ['-O3', '-ffp-contract=off', '-shared', '-fPIC', '-Wall', '-Wextra', '-Werror', `-I${include}`, source, '-o', temp, '-ldl', '-lpthread']
  if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup')
  const run = spawnSync(cc, args, {encoding: 'utf8'})
  if (run.error) return skip(`${cc}: ${run.error.code === 'ENOENT' ? 'no C compiler' : run.error.message}`)
  if (run.status !== 0) {
    fs.rmSync(temp, {force: true})
    return skip(`${cc} failed: ${(run.stderr || '').trim().split('\n').slice(0, 3).join(' | ')}`)
  }
  fs.renameSync(temp, out) // atomic: a concurrent build never sees half a module
}

main()
