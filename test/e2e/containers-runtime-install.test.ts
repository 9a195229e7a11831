/**
 * The npm step of the images, run for real (offline, from this machine's npm cache) on a staged
 * context: the external image's runtime stage RUN line, taken from the Dockerfile itself, installs
 * the runtime from the lockfile without the CLI-only dependencies, and the installed runtime then
 * runs a real job of the command kind. No Docker engine is needed.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {promisify} from 'node:util'
import {DockerfileParser} from 'dockerfile-ast'

import {externalImage, stageContext} from '../../src/containers/images'
import {rfmJson, ROOT, tempHome} from '../helpers/cli'

const run = promisify(execFile)

/** The runtime stage's RUN line and ARG defaults, from containers/external/Dockerfile. */
function runtimeStageScript(): string {
  const dockerfile = DockerfileParser.parse(readFileSync(path.join(ROOT, 'containers', 'external', 'Dockerfile'), 'utf8'))
  const stage = dockerfile.getFROMs().find((from) => from.getBuildStage() === 'runtime')
  assert.ok(stage, 'the external Dockerfile has a runtime stage')
  const args = new Map<string, string>()
  let script: string | undefined
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getRange().start.line <= stage.getRange().start.line) continue
    if (instruction.getKeyword() === 'FROM') break
    const property = instruction.getKeyword() === 'ARG' ? (instruction as unknown as {getProperty(): {getName(): string; getValue(): string | null}}).getProperty() : undefined
    if (property) args.set(property.getName(), property.getValue() ?? '')
    if (instruction.getKeyword() === 'RUN') script = instruction.getArgumentsContent() ?? ''
  }
  assert.ok(script, 'the runtime stage has a RUN line')
  // Keep this machine's npm cache: the image cleans its own, the test must not clean ours.
  assert.match(script, /&& npm cache clean --force/)
  script = script.replace(/\s*&& npm cache clean --force/, '')
  return script.replace(/\$\{(\w+)\}/g, (_, name: string) => args.get(name) ?? '')
}

describe("the images' runtime install step", () => {
  it('installs the runtime from the staged lockfile without CLI-only dependencies, and the runtime runs a job', async (t) => {
    const context = mkdtempSync(path.join(os.tmpdir(), 'rfm-ctx-'))
    await stageContext(await externalImage({}), context)
    // Lay the files out as the Dockerfile's COPY lines do, under /opt/rfm.
    const optRfm = path.join(mkdtempSync(path.join(os.tmpdir(), 'rfm-opt-')), 'rfm')
    // node_modules here is ~135 MB: leave nothing behind
    t.after(() => [context, path.dirname(optRfm)].forEach((dir) => rmSync(dir, {recursive: true, force: true})))
    mkdirSync(optRfm)
    cpSync(path.join(context, 'rfm'), optRfm, {recursive: true})

    const script = runtimeStageScript()
    try {
      await run('/bin/sh', ['-c', script], {cwd: optRfm, env: {...process.env, npm_config_offline: 'true'}, maxBuffer: 16 * 1024 * 1024})
    } catch (error) {
      const text = String((error as {stderr?: string}).stderr ?? error)
      if (/ENOTCACHED|offline/i.test(text)) return t.skip('the npm cache here lacks a package (npm ci was not run on this machine)')
      throw error
    }
    assert.ok(existsSync(path.join(optRfm, 'node_modules', 'zod')), 'runtime dependencies are installed')
    assert.ok(!existsSync(path.join(optRfm, 'node_modules', '@pulumi')), 'Pulumi stays out of the image')
    assert.ok(!existsSync(path.join(optRfm, 'node_modules', '@oclif', 'plugin-plugins')), 'the plugin installer stays out')
    assert.ok(!existsSync(path.join(optRfm, 'node_modules', '@tensorflow', 'tfjs-node-gpu')), 'the external image has no tfjs-node-gpu')
    const lock = JSON.parse(readFileSync(path.join(optRfm, 'package-lock.json'), 'utf8')) as {packages: Record<string, unknown>}
    assert.ok(!('node_modules/@pulumi/pulumi' in lock.packages))

    // A real run recorded by the CLI, executed again by the installed runtime, as a container would.
    const home = tempHome()
    const launched = await rfmJson(['cloud', 'launch', 'command', '-c', path.join(ROOT, 'examples', 'command', 'hello.yaml'), '--follow'], {home})
    assert.equal(launched.code, 0, launched.stderr)
    const {stdout} = await run(process.execPath, [path.join(optRfm, 'dist', 'src', 'runtime', 'main.js')], {
      env: {...process.env, RFM_STORE: launched.json.run.store, RFM_RUN_ID: launched.json.run.id, RFM_ATTEMPT: '2'},
    })
    assert.match(stdout, new RegExp(`\\[rfm\\] run ${launched.json.run.id} attempt 2:`))
    assert.match(stdout, /step 5\/5/)
  })
})
