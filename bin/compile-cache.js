// Start-up caches for the CLI, one file per Node version in the user's cache folder
// ($XDG_CACHE_HOME or ~/.cache, then rfm/); NODE_DISABLE_COMPILE_CACHE=1 turns them off, as on Node 22.
// - A V8 code cache: what `module.enableCompileCache()` does on Node >= 22.1, done by hand on Node 20.
//   Each entry is keyed by the file's path and the sha1 of its source (V8's own check compares only
//   lengths), so a changed file is compiled again; anything unexpected falls back to Node's compiler.
// - The resolved path of each `require()` of a package or of a plain relative file made by rfm's own
//   files, dropped whenever package.json or node_modules/.package-lock.json changes (an install).
// Measured on 2 shared cores: CPU time of `rfm cloud launch command --dry-run` 292 -> 241 ms with
// the code cache, -30 ms more with the resolutions (most of start-up is compiling ~220 CommonJS
// files of oclif, zod, yaml and rfm, and finding them).
'use strict'
const Module = require('node:module')

function enable() {
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return
  try {
    if (typeof Module.enableCompileCache === 'function') Module.enableCompileCache()
    else install()
  } catch {
    // no home folder, an unreadable cache…: start without the cache
  }
}

function install() {
  const vm = require('node:vm')
  const crypto = require('node:crypto')
  const fs = require('node:fs')
  const os = require('node:os')
  const path = require('node:path')

  const dir = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'rfm')
  // V8 rejects code cached under other flags: one file per set of Node options, so they do not thrash.
  const options = crypto
    .createHash('sha1')
    .update(JSON.stringify([process.execArgv, process.env.NODE_OPTIONS ?? '']))
    .digest('hex')
    .slice(0, 8)
  const file = path.join(dir, `v8-code-${process.version}-${process.arch}-${options}.bin`)
  const root = path.resolve(__dirname, '..')
  const mtime = (f) => fs.statSync(f, {throwIfNoEntry: false})?.mtimeMs ?? 0
  const installStamp = `${mtime(path.join(root, 'package.json'))}:${mtime(path.join(root, 'node_modules', '.package-lock.json'))}`
  const {code: cached, resolvedByRoot} = readCache(fs, file)
  const mine = resolvedByRoot[root]
  const resolved = new Map(mine && mine.stamp === installStamp ? mine.entries : [])
  const fresh = new Map()
  const used = new Set()
  let resolvedAdded = false
  const compile = Module.prototype._compile
  const resolve = Module._resolveFilename

  Module._resolveFilename = function (request, parent, isMain, options) {
    const from = parent?.filename
    if (isMain || options || !from || !from.startsWith(root + path.sep)) return resolve.apply(this, arguments)
    const key = `${path.dirname(from)}\0${request}`
    const hit = resolved.get(key)
    if (hit !== undefined && fs.statSync(hit, {throwIfNoEntry: false})?.isFile()) return hit
    const found = resolve.apply(this, arguments)
    if (cacheable(request, from, found)) {
      resolved.set(key, found)
      resolvedAdded = true
    }
    return found
  }

  // Packages (their layout changes only with an install) and relative requires that name a file
  // (a new file can only shadow a folder's index.js, which is not kept).
  function cacheable(request, from, found) {
    if (!path.isAbsolute(found) || !found.startsWith(root + path.sep)) return false
    if (request.startsWith('./') || request.startsWith('../')) {
      const base = path.resolve(path.dirname(from), request)
      return found === base || found === `${base}.js` || found === `${base}.json`
    }
    return !request.startsWith('/') && !request.startsWith('node:') && !Module.isBuiltin(request)
  }

  Module.prototype._compile = function (content, filename, format) {
    // import() in a script made from a code cache loses its loader on Node 20 (the script's
    // host-defined options are not restored): such files are compiled by Node itself.
    if (format === 'module' || /\bimport\s*\(/.test(content)) return compile.call(this, content, filename, format)
    const hash = crypto.createHash('sha1').update(content).digest('base64')
    used.add(filename)
    const entry = cached.get(filename)
    const cachedData = entry && entry.hash === hash ? entry.data : undefined
    let script
    try {
      script = new vm.Script(Module.wrap(content), {filename, cachedData})
    } catch {
      return compile.call(this, content, filename, format) // e.g. ES module syntax in a .js file
    }
    if (!cachedData || script.cachedDataRejected) fresh.set(filename, {hash, script})
    const wrapper = script.runInThisContext({displayErrors: true})
    return wrapper.call(this.exports, this.exports, makeRequire(this), this, filename, path.dirname(filename))
  }

  // The code cache is taken at exit, so that it holds the functions this run compiled lazily too.
  process.once('exit', () => {
    if (fresh.size === 0 && !resolvedAdded) return
    try {
      for (const [filename, {hash, script}] of fresh) cached.set(filename, {hash, data: script.createCachedData()})
      // Entries of other checkouts or old builds pile up: past 64 MB (or 16 checkouts) only this run's are kept.
      let bytes = 0
      for (const entry of cached.values()) bytes += entry.data.length
      const others = bytes > 64 * 2 ** 20 || Object.keys(resolvedByRoot).length > 16 ? {} : resolvedByRoot
      if (bytes > 64 * 2 ** 20) for (const filename of cached.keys()) if (!used.has(filename)) cached.delete(filename)
      fs.mkdirSync(dir, {recursive: true, mode: 0o700})
      const temporary = `${file}.${process.pid}.tmp`
      fs.writeFileSync(temporary, serialize(cached, {...others, [root]: {stamp: installStamp, entries: [...resolved]}}), {mode: 0o600})
      fs.renameSync(temporary, file) // atomic: concurrent CLIs never read half a file
    } catch {
      // a cache that cannot be written only costs speed
    }
  })
}

/** The `require` Node hands a CommonJS module (lib/internal/modules/helpers.js makeRequireFunction). */
function makeRequire(mod) {
  const require = (id) => mod.require(id)
  require.resolve = (request, options) => Module._resolveFilename(request, mod, false, options)
  require.resolve.paths = (request) => Module._resolveLookupPaths(request, mod)
  require.main = process.mainModule
  require.extensions = Module._extensions
  require.cache = Module._cache
  return require
}

// Layout: uint32 length of a JSON index {resolvedByRoot: {[rfm root]: {stamp, entries: [[key,
// path], …]}}, code: [[filename, hash, byteLength], …]}, the index, then the code caches in order.
// Resolutions are kept per checkout, so two checkouts on one machine do not evict each other's.
function readCache(fs, file) {
  const code = new Map()
  let resolvedByRoot = {}
  try {
    const buffer = fs.readFileSync(file)
    const length = buffer.readUInt32LE(0)
    let offset = 4 + length
    const index = JSON.parse(buffer.toString('utf8', 4, offset))
    for (const [filename, hash, size] of index.code) {
      code.set(filename, {hash, data: buffer.subarray(offset, offset + size)})
      offset += size
    }
    resolvedByRoot = index.resolvedByRoot ?? {}
  } catch {
    code.clear() // missing or damaged: start over
  }
  return {code, resolvedByRoot}
}

function serialize(code, resolvedByRoot) {
  const index = Buffer.from(JSON.stringify({resolvedByRoot, code: [...code].map(([filename, {hash, data}]) => [filename, hash, data.length])}))
  const length = Buffer.alloc(4)
  length.writeUInt32LE(index.length, 0)
  return Buffer.concat([length, index, ...[...code.values()].map((entry) => entry.data)])
}

module.exports = {enable}
