import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import * as path from 'node:path'
import {test} from 'node:test'
import {Plugin} from '@oclif/core'

import {ROOT} from '../../helpers/cli'

// A stale oclif.manifest.json makes oclif skip command discovery; the build regenerates them (the
// host's and each plugin's) and this test fails when a committed one no longer matches the commands
// and flags in the code.
const roots = [
  ROOT,
  ...readdirSync(path.join(ROOT, 'plugins'))
    .sort()
    .map((p) => path.join(ROOT, 'plugins', p)),
]

for (const root of roots) {
  const manifest = path.relative(ROOT, path.join(root, 'oclif.manifest.json'))
  test(`${manifest} matches the compiled commands`, async () => {
    const plugin = new Plugin({root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true, respectNoCacheDefault: true})
    await plugin.load()
    const fresh = JSON.parse(JSON.stringify(plugin.manifest)) as {commands: Record<string, unknown>}
    const committed = JSON.parse(readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8')) as typeof fresh
    assert.deepEqual(Object.keys(committed.commands).sort(), Object.keys(fresh.commands).sort(), `commands differ: run npm run build and commit ${manifest}`)
    assert.deepEqual(committed, fresh, `flags or args differ: run npm run build and commit ${manifest}`)
  })
}
