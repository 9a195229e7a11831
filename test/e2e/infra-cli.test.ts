/**
 * `rfm infra ...` through the real CLI. No Pulumi CLI exists here: the commands must say so (exit 1,
 * install hint, no stack trace); with a stub `pulumi` in $PULUMI_HOME/bin the real Automation API
 * runs and its failures come back as rfm errors.
 */
import assert from 'node:assert/strict'
import {chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {describe, test} from 'node:test'

import {rfm, rfmJson, tempHome} from '../helpers/cli'
import {assertSchema} from '../helpers/schema'

/** An environment whose PATH holds node only, and whose HOME has no ~/.pulumi. */
function noPulumiEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const home = tempHome('rfm-nopulumi-')
  return {PATH: path.dirname(process.execPath), HOME: home, PULUMI_HOME: undefined, PULUMI_BACKEND_URL: undefined, ...extra}
}

const COMMANDS = [
  ['infra', 'preview', '--region', 'us-east-1'],
  ['infra', 'up', '--region', 'us-east-1'],
  ['infra', 'outputs'],
  ['infra', 'destroy', '--yes'],
]

describe('without the pulumi CLI', () => {
  test('every infra command fails with exit 1, the install hint and no stack trace', async () => {
    const results = await Promise.all(COMMANDS.map((args) => rfm(args, {home: tempHome(), env: noPulumiEnv()})))
    for (const [i, result] of results.entries()) {
      const what = COMMANDS[i].join(' ')
      assert.equal(result.code, 1, `${what}: ${result.stderr}`)
      assert.match(result.stderr, /^Error: The Pulumi CLI is not installed/m, what)
      assert.match(result.stderr, /^Hint: Install the Pulumi CLI .*get\.pulumi\.com/m, what)
      assert.doesNotMatch(result.stderr, /^\s+at /m, `${what}: no stack trace`)
      assert.doesNotMatch(result.stderr, /ENOENT/, what)
    }
  })

  test('--json gives the error shape with code PULUMI_CLI_MISSING', async () => {
    const results = await Promise.all(COMMANDS.map((args) => rfmJson(args, {home: tempHome(), env: noPulumiEnv()})))
    for (const result of results) {
      assert.equal(result.code, 1)
      assertSchema('error', result.json)
      assert.equal(result.json.error.name, 'NotBuiltError')
      assert.equal(result.json.error.code, 'PULUMI_CLI_MISSING')
      assert.equal(result.json.error.exitCode, 1)
      assert.ok(Array.isArray(result.json.error.details.searched))
    }
  })

  test('the missing-CLI path loads no Pulumi module', async () => {
    const dir = tempHome('rfm-hook-')
    const log = path.join(dir, 'loaded.txt')
    const hook = path.join(dir, 'hook.js')
    writeFileSync(
      hook,
      `const M = require('module'); const fs = require('fs'); const load = M._load;
       M._load = function (request, ...rest) { if (/@pulumi\\//.test(request)) fs.appendFileSync(${JSON.stringify(log)}, request + '\\n'); return load.call(this, request, ...rest) }`,
    )
    const result = await rfm(['infra', 'up', '--region', 'us-east-1', '--gpu-families', 'g5,g6e'], {
      home: tempHome(),
      env: noPulumiEnv({NODE_OPTIONS: `--require ${hook}`}),
    })
    assert.equal(result.code, 1, result.stderr)
    assert.equal(existsSync(log) ? readFileSync(log, 'utf8') : '', '')
  })
})

describe('mistakes are caught before Pulumi is needed (exit 2)', () => {
  test('no region, an unknown GPU family, destroy without --yes, a secret value instead of a reference', async () => {
    const home = tempHome()
    const env = noPulumiEnv({AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined})
    const [noRegion, family, destroy, secret] = await Promise.all([
      rfmJson(['infra', 'preview'], {home, env}),
      rfmJson(['infra', 'up', '--region', 'us-east-1', '--gpu-families', 'g5,g9'], {home, env}),
      rfmJson(['infra', 'destroy'], {home, env}),
      rfm(['infra', 'preview', '--region', 'us-east-1', '--secret', 'WANDB_API_KEY=hunter2hunter2'], {home, env}),
    ])
    for (const result of [noRegion, family, destroy]) {
      assert.equal(result.code, 2, result.stdout)
      assertSchema('error', result.json)
    }
    assert.match(noRegion.json.error.message, /region/)
    assert.equal(family.json.error.code, 'CONFIG_INVALID')
    assert.match(family.json.error.message, /gpuFamilies\.1/)
    assert.match(destroy.json.error.message, /--yes/)
    assert.equal(secret.code, 2)
    assert.doesNotMatch(secret.stderr + secret.stdout, /hunter2/)
  })
})

describe('with a stub pulumi in $PULUMI_HOME/bin (the real Automation API runs it)', () => {
  function stubPulumi(stderrLine: string): {env: NodeJS.ProcessEnv; calls: string} {
    const root = tempHome('rfm-stub-')
    const bin = path.join(root, 'pulumi-home', 'bin')
    mkdirSync(bin, {recursive: true})
    const calls = path.join(root, 'calls.log')
    writeFileSync(
      path.join(bin, 'pulumi'),
      `#!/bin/sh\necho "$@" >> ${JSON.stringify(calls)}\nif [ "$1" = "version" ]; then echo "v3.248.0"; exit 0; fi\necho ${JSON.stringify(stderrLine)} >&2\nexit 255\n`,
    )
    chmodSync(path.join(bin, 'pulumi'), 0o755)
    return {env: noPulumiEnv({PULUMI_HOME: path.join(root, 'pulumi-home')}), calls}
  }

  test('a failing pulumi command becomes a BackendError that quotes its error line', async () => {
    const stub = stubPulumi('error: no valid credential sources for AWS found')
    const home = tempHome()
    const result = await rfmJson(['infra', 'preview', '--region', 'us-east-1', '--stack', 'lab'], {home, env: stub.env})
    assert.equal(result.code, 1, result.stderr)
    assertSchema('error', result.json)
    assert.equal(result.json.error.code, 'BACKEND')
    assert.match(result.json.error.message, /pulumi preview of stack "lab" failed: error: no valid credential sources/)
    const calls = readFileSync(stub.calls, 'utf8')
    assert.match(calls, /^version$/m, 'the stub found in $PULUMI_HOME/bin was run')
    assert.match(calls, /stack select --stack lab/)
    assert.ok(existsSync(path.join(home, 'infra', 'state')), 'the default file backend lives under RFM_HOME')
  })

  test('outputs of a stack that does not exist is a NotFoundError (exit 2)', async () => {
    const stub = stubPulumi("error: no stack named 'lab' found")
    const result = await rfmJson(['infra', 'outputs', '--stack', 'lab'], {home: tempHome(), env: stub.env})
    assert.equal(result.code, 2, result.stderr)
    assert.equal(result.json.error.code, 'NOT_FOUND')
    assert.match(result.json.error.message, /Stack "lab" does not exist/)
  })
})
