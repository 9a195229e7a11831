#!/usr/bin/env node
// Entry point of the rfm CLI. Kept tiny: oclif reads the manifest and loads one command lazily.
// Node >= 22.1 keeps compiled code on disk itself (NODE_DISABLE_COMPILE_CACHE=1 turns it off). A
// hand-made V8 code cache for Node 20 was measured at 2-5 % of an idle start-up and was dropped.
const {enableCompileCache} = require('node:module')
if (typeof enableCompileCache === 'function') {
  try {
    enableCompileCache()
  } catch {
    // an unwritable cache folder only costs speed
  }
}
// @oclif/core checks the Node version against its own engines (>=18) when first loaded, which
// loads all of semver (47 files, ~10 ms); rfm's engines (>=20) are stricter, so the check is
// skipped, for this process only (the variable does not reach the jobs rfm starts).
const engineCheck = process.env.OCLIF_DISABLE_ENGINE_WARNING
process.env.OCLIF_DISABLE_ENGINE_WARNING = 'true'
const oclif = require('@oclif/core')
if (engineCheck === undefined) delete process.env.OCLIF_DISABLE_ENGINE_WARNING
else process.env.OCLIF_DISABLE_ENGINE_WARNING = engineCheck
oclif.execute({dir: __dirname}).catch(require('@oclif/core/handle'))
