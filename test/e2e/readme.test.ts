import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import * as path from 'node:path'
import {test} from 'node:test'

import {ROOT, rfm, tempHome} from '../helpers/cli'

// The README opens with two commands a new user pastes; keep them true.
test("the README's first command launches a valid job; the second is the test command", async () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const block = /```sh\n(.*)\n(.*)\n```/.exec(readme)
  assert.ok(block, 'the README opens with a two-line sh block')
  const [, first, second] = block
  assert.equal(second, 'npm test')
  const launch = /\.\/bin\/run\.js (.*)$/.exec(first)
  assert.ok(first.startsWith('npm ci && npm run build && ') && launch, first)
  const args = launch[1].split(' ').filter((a) => a !== '--follow')
  const result = await rfm([...args, '--dry-run'], {home: tempHome()})
  assert.equal(result.code, 0, result.stderr)
  const ci = readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8')
  assert.match(ci, /^npm ci /m)
  assert.match(ci, /^npm test$/m)
})
