#!/usr/bin/env node
// Entry point of the rfm CLI. Kept tiny: oclif reads the manifest and loads one command lazily.
// Start-up (npm run bench -- cli): @oclif/core and yaml are each loaded from one bundled file
// (scripts/bundle-vendor.js, run by `npm run compile`; see DESIGN.md). On Node 20, which pays for
// every file it loads, that and two lazy loads took `rfm cloud launch command --dry-run` from 3.7×
// to 2.8× of `node -e 0` (~250 files compiled before, 59 now) and `rfm --help` from 2.6× to 2.1×.
// Node >= 22.1 also keeps compiled code on disk (NODE_DISABLE_COMPILE_CACHE=1 turns it off); a
// hand-made V8 code cache for Node 20 was measured at 2-5 % and dropped.
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
const oclif = require('../dist/src/vendor/oclif-core.js')
if (engineCheck === undefined) delete process.env.OCLIF_DISABLE_ENGINE_WARNING
else process.env.OCLIF_DISABLE_ENGINE_WARNING = engineCheck

// oclif.execute({dir}), with one addition: commands of plugins (oclif's, rfm's plugin kit) use the
// installed @oclif/core, another copy than the bundle, so their `this.exit(n)` is an ExitError that
// the bundle's handler would not know and would print ("EEXIT: n"); it becomes the bundle's own.
const handle = (error) => {
  const foreignExit = error?.code === 'EEXIT' && !(error instanceof oclif.Errors.ExitError)
  return oclif.handle(foreignExit ? new oclif.Errors.ExitError(error.oclif?.exit ?? 1) : error)
}
oclif
  .run(process.argv.slice(2), __dirname)
  .then(() => oclif.flush())
  .catch(handle)
