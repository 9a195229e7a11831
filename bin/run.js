#!/usr/bin/env node
// Entry point of the rfm CLI. Kept tiny: oclif reads the manifest and loads one command lazily.
require('@oclif/core').execute({ dir: __dirname }).catch(require('@oclif/core/handle'))
