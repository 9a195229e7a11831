import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import * as path from 'node:path'
import {test} from 'node:test'

import {ROOT} from '../../helpers/cli'

// A command's --help examples are what a new user pastes first: every example file they cite
// (examples/...) must exist in the repository. Read from the manifests oclif serves help from.
test('every examples/ file cited in a command example exists', () => {
  const manifests = ['oclif.manifest.json', ...['sft', 'grpo', 'rm-eval', 'vla-sensor'].map((p) => `plugins/${p}/oclif.manifest.json`)]
  const cited: string[] = []
  for (const manifest of manifests) {
    const {commands} = JSON.parse(readFileSync(path.join(ROOT, manifest), 'utf8')) as {commands: Record<string, {examples?: unknown[]}>}
    for (const [id, command] of Object.entries(commands)) {
      for (const example of command.examples ?? []) {
        const text = typeof example === 'string' ? example : JSON.stringify(example)
        for (const file of text.match(/examples\/[\w./-]+\.(?:ya?ml|json)/g) ?? []) cited.push(`${id}: ${file}`)
      }
    }
  }
  assert.ok(cited.length > 0, 'some command cites an example file')
  const missing = cited.filter((entry) => !existsSync(path.join(ROOT, entry.split(': ')[1])))
  assert.deepEqual(missing, [])
})
