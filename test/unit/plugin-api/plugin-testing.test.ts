/**
 * `@rfm/plugin-kit/testing` finds the host through its declared `exports` (`rfm/testing`) and hands
 * plugin tests the very objects rfm hands plugins; the host root comes from RFM_HOST_ROOT, the working
 * directory's `rfm`, or the folders above the kit, in that order.
 */
import assert from 'node:assert/strict'
import {mkdtempSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {ROOT} from '../../helpers/cli'

// eslint-disable-next-line @typescript-eslint/no-require-imports
const kit = require('@rfm/plugin-kit/testing') as typeof import('@rfm/plugin-kit/testing')

test('the testing entry serves the host plugin API (rfm/plugin-host) and its modules, resolved through rfm/testing', async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const host = require('rfm/plugin-host') as {pluginApi: unknown}
  assert.equal(kit.api, host.pluginApi)
  assert.equal(kit.ROOT, ROOT)
  // the same module instances (the dynamic import wraps them in a namespace of its own)
  assert.equal(kit.formats.encodePng, (await kit.api.loadFormats()).encodePng)
  assert.equal(kit.trainer.Vlm, (await kit.api.loadTrainer()).Vlm)
  assert.equal(kit.grader.LlmGrader, (await kit.api.loadGrader()).LlmGrader)
  assert.equal(kit.hostTesting(ROOT).api, kit.api)
})

test('the host root: RFM_HOST_ROOT first, then rfm from the working directory, then the folders above the kit', () => {
  const cwd = process.cwd()
  const saved = process.env.RFM_HOST_ROOT
  try {
    process.env.RFM_HOST_ROOT = '/somewhere/rfm'
    assert.equal(kit.hostRoot(), '/somewhere/rfm')
    delete process.env.RFM_HOST_ROOT
    process.chdir(ROOT)
    assert.equal(kit.hostRoot(), ROOT)
    // a folder where no rfm resolves: the kit's own location (a workspace of rfm) finds it
    process.chdir(mkdtempSync(path.join(os.tmpdir(), 'rfm-kit-cwd-')))
    assert.equal(kit.hostRoot(), ROOT)
  } finally {
    process.chdir(cwd)
    if (saved === undefined) delete process.env.RFM_HOST_ROOT
    else process.env.RFM_HOST_ROOT = saved
  }
})
