import assert from 'node:assert/strict'
import {test} from 'node:test'
import * as installed from '@oclif/core'

import * as bundled from '../../../src/vendor/oclif-core'
import {ROOT} from '../../helpers/cli'

// The CLI runs on the bundle of @oclif/core that scripts/bundle-vendor.js builds (with its string
// comparison of plugin names in place of minimatch): it must load the same plugins, commands and
// topics from rfm's package.json as the installed package does.
test('the bundled @oclif/core loads the same plugins, commands and topics as the installed one', async () => {
  const [fromBundle, fromPackage] = await Promise.all([bundled.Config.load(ROOT), installed.Config.load(ROOT)])
  const names = (config: installed.Config) => config.getPluginsList().map((p) => `${p.name}@${p.version} ${p.type}`)
  assert.deepEqual(names(fromBundle).sort(), names(fromPackage).sort())
  assert.ok(
    fromBundle.getPluginsList().some((p) => p.name === '@rfm/plugin-sft'),
    'a first-party plugin is among them',
  )
  // sorted: oclif loads the plugins in parallel, so their order varies from run to run
  assert.deepEqual([...fromBundle.commandIDs].sort(), [...fromPackage.commandIDs].sort())
  assert.deepEqual(fromBundle.topics.map((t) => t.name).sort(), fromPackage.topics.map((t) => t.name).sort())
  assert.equal(fromBundle.version, fromPackage.version)
})

test('the bundle is one file, not the installed package', () => {
  assert.notEqual(require.resolve('../../../src/vendor/oclif-core'), require.resolve('@oclif/core'))
  assert.notEqual(bundled.Command, installed.Command)
})
