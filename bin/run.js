#!/usr/bin/env node
// Entry point of the rfm CLI. Kept tiny: oclif reads the manifest and loads one command lazily.
require('./compile-cache').enable()
// @oclif/core checks the Node version against its own engines (>=18) when first loaded, which
// loads all of semver (47 files, ~10 ms); rfm's engines (>=20) are stricter, so the check is
// skipped, for this process only (the variable does not reach the jobs rfm starts).
const engineCheck = process.env.OCLIF_DISABLE_ENGINE_WARNING
process.env.OCLIF_DISABLE_ENGINE_WARNING = 'true'
const oclif = require('@oclif/core')
if (engineCheck === undefined) delete process.env.OCLIF_DISABLE_ENGINE_WARNING
else process.env.OCLIF_DISABLE_ENGINE_WARNING = engineCheck
oclif.execute({dir: __dirname}).catch(require('@oclif/core/handle'))
