import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import * as path from 'node:path'
import {test} from 'node:test'
import {Plugin} from '@oclif/core'

import {ROOT} from '../../helpers/cli'

// A stale oclif.manifest.json makes oclif skip command discovery; the build regenerates it and this
// test fails when the committed one no longer matches the commands and flags in the code.
test('oclif.manifest.json matches the compiled commands', async () => {
  const plugin = new Plugin({root: ROOT, type: 'core', ignoreManifest: true, errorOnManifestCreate: true, respectNoCacheDefault: true})
  await plugin.load()
  const fresh = JSON.parse(JSON.stringify(plugin.manifest)) as {commands: Record<string, unknown>}
  const committed = JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as typeof fresh
  assert.deepEqual(Object.keys(committed.commands).sort(), Object.keys(fresh.commands).sort(), 'commands differ: run npm run build and commit oclif.manifest.json')
  assert.deepEqual(committed, fresh, 'flags or args differ: run npm run build and commit oclif.manifest.json')
})
