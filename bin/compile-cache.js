// A V8 code cache for the CLI's start-up: what `module.enableCompileCache()` does on Node ≥ 22.1,
// done by hand on Node 20. Measured: `rfm cloud launch command --dry-run` 235 → 130 ms, because
// most of a start-up is V8 compiling the ~400 CommonJS files oclif, zod, yaml and rfm are made of.
// The cache is one file in the user's cache folder ($XDG_CACHE_HOME or ~/.cache, then rfm/), keyed
// by each file's path and the sha1 of its source (V8's own check compares only lengths); anything
// unexpected falls back to Node's compiler. NODE_DISABLE_COMPILE_CACHE=1 turns it off, as on Node 22.
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
  const file = path.join(dir, `v8-code-${process.version}-${process.arch}.bin`)
  const cached = readCache(fs, file)
  const fresh = new Map()
  const used = new Set()
  const compile = Module.prototype._compile

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
    if (fresh.size === 0) return
    try {
      for (const [filename, {hash, script}] of fresh) cached.set(filename, {hash, data: script.createCachedData()})
      // Entries of other checkouts or old builds pile up: past 64 MB only this run's are kept.
      let bytes = 0
      for (const entry of cached.values()) bytes += entry.data.length
      if (bytes > 64 * 2 ** 20) for (const filename of cached.keys()) if (!used.has(filename)) cached.delete(filename)
      fs.mkdirSync(dir, {recursive: true, mode: 0o700})
      const temporary = `${file}.${process.pid}.tmp`
      fs.writeFileSync(temporary, serialize(cached), {mode: 0o600})
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

// Layout: uint32 length of a JSON index [[filename, hash, byteLength], …], the index, the data.
function readCache(fs, file) {
  const out = new Map()
  try {
    const buffer = fs.readFileSync(file)
    const length = buffer.readUInt32LE(0)
    let offset = 4 + length
    for (const [filename, hash, size] of JSON.parse(buffer.toString('utf8', 4, offset))) {
      out.set(filename, {hash, data: buffer.subarray(offset, offset + size)})
      offset += size
    }
  } catch {
    out.clear() // missing or damaged: start over
  }
  return out
}

function serialize(entries) {
  const index = Buffer.from(JSON.stringify([...entries].map(([filename, {hash, data}]) => [filename, hash, data.length])))
  const length = Buffer.alloc(4)
  length.writeUInt32LE(index.length, 0)
  return Buffer.concat([length, index, ...[...entries.values()].map((entry) => entry.data)])
}

module.exports = {enable}
