/**
 * Plugins may list their kinds in package.json (`rfm.kinds`) so that a launch loads only the plugin
 * that provides the kind: the lists of rfm's plugins must be what their modules really define.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {CORE_PLUGIN, declaredKinds, loadKinds, loadKindsFor, type PluginInfo} from '../../../src/jobs/registry'

const root = path.resolve(__dirname, '../../../..')

function firstParty(): PluginInfo[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const names = (require(path.join(root, 'package.json')) as {oclif: {plugins: string[]}}).oclif.plugins.filter((n) => n.startsWith('@rfm/'))
  return names.map((name) => {
    const pluginRoot = path.dirname(require.resolve(`${name}/package.json`, {paths: [root]}))
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return {name, root: pluginRoot, pjson: require(path.join(pluginRoot, 'package.json')) as object}
  })
}

test("each of rfm's plugins lists exactly the kinds its module defines", async () => {
  const plugins = firstParty()
  assert.equal(plugins.length, 4)
  for (const plugin of plugins) {
    const defined = [...(await loadKinds([plugin])).entries()].filter(([, e]) => e.plugin.name !== CORE_PLUGIN).map(([name]) => name)
    assert.deepEqual(declaredKinds(plugin)?.sort(), defined.sort(), plugin.name)
  }
})

test('a launch of one kind loads only the plugins that may provide it; an unknown kind loads all, to list them', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-kinds-'))
  // a plugin whose module throws when loaded: loading it is visible as an error
  writeFileSync(path.join(dir, 'kinds.js'), "throw new Error('loaded')\n")
  const broken = (kinds?: string[]): PluginInfo => ({name: 'broken', root: dir, pjson: {rfm: {jobKinds: './kinds.js', ...(kinds ? {kinds} : {})}}})
  const plugins = firstParty()
  // rfm's own kinds need no plugin
  assert.ok((await loadKindsFor('command', [...plugins, broken()])).has('command'))
  assert.ok((await loadKindsFor('vlm', [...plugins, broken()])).has('vlm'))
  // a plugin that lists other kinds is not loaded; one that lists none is
  const grpo = await loadKindsFor('grpo', [...plugins, broken(['other'])])
  assert.equal(grpo.get('grpo')?.plugin.name, '@rfm/plugin-grpo')
  assert.equal(grpo.has('sft'), false, 'the sft plugin was not needed')
  await assert.rejects(loadKindsFor('grpo', [...plugins, broken()]), /broken failed to load its job kinds/)
  await assert.rejects(loadKindsFor('nonesuch', [...plugins, broken(['other'])]), /broken failed to load its job kinds/)
})
