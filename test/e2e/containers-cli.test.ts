/** `rfm build` through the real CLI: --dry-run needs nothing; --local runs the docker stand-in. */
import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {before, describe, it} from 'node:test'

import {DockerCli} from '../../src/containers/docker'
import {baseImage, externalImage, pluginImage} from '../../src/containers/images'
import {rfm, rfmJson, ROOT, tempHome} from '../helpers/cli'
import {assertSchema} from '../helpers/schema'

const REPO = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/rfm'
const FAKE_DOCKER_DIR = path.join(ROOT, 'test', 'fixtures', 'fake-docker')

function dockerEnv(fail: string[] = []): NodeJS.ProcessEnv {
  const log = path.join(mkdtempSync(path.join(os.tmpdir(), 'rfm-cli-docker-')), 'calls.jsonl')
  return {PATH: `${FAKE_DOCKER_DIR}${path.delimiter}${process.env.PATH}`, FAKE_DOCKER_LOG: log, FAKE_DOCKER_FAIL: fail.join(',')}
}

describe('rfm build (CLI)', () => {
  let home: string
  before(async () => {
    home = tempHome()
    const set = await rfm(['config', 'set', 'imageRepository', REPO], {home})
    assert.equal(set.code, 0, set.stderr)
  })

  it('--dry-run prints the images and content tags the library computes, for a plugin kind and for the base', async () => {
    const {code, json, stderr} = await rfmJson(['build', 'sft', '--dry-run'], {home})
    assert.equal(code, 0, stderr)
    assertSchema('build', json)
    const base = await baseImage()
    const sft = await pluginImage({name: '@rfm/plugin-sft', root: path.join(ROOT, 'plugins', 'sft')})
    assert.deepEqual(
      json.images.map((i: {ref: string}) => i.ref),
      [`${REPO}:${base.tag}`, `${REPO}:${sft.tag}`],
    )
    assert.equal(json.ref, `${REPO}:${sft.tag}`)
    assert.equal(json.images[0].files, base.files.length)

    const baseOnly = await rfmJson(['build', '--dry-run'], {home})
    assertSchema('build', baseOnly.json)
    assert.deepEqual(
      baseOnly.json.images.map((i: {tag: string}) => i.tag),
      [base.tag],
    )
  })

  it('--dry-run of the command kind tags the external image by the requirements file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-cli-req-'))
    writeFileSync(path.join(dir, 'requirements.txt'), 'transformers==4.46.3\n')
    const {json} = await rfmJson(['build', 'command', '-r', path.join(dir, 'requirements.txt'), '--dry-run'], {home})
    assertSchema('build', json)
    const expected = await externalImage({requirements: path.join(dir, 'requirements.txt')})
    assert.deepEqual(
      json.images.map((i: {tag: string}) => i.tag),
      [expected.tag],
    )
    assert.notEqual(expected.tag, (await externalImage({})).tag)
  })

  it('--local builds with docker, then finds the images up to date', async () => {
    const env = dockerEnv()
    const first = await rfmJson(['build', 'sft', '--local'], {home, env})
    assert.equal(first.code, 0, first.stderr)
    assertSchema('build', first.json)
    assert.deepEqual(
      first.json.images.map((i: {status: string}) => i.status),
      ['built', 'built'],
    )
    const second = await rfm(['build', 'sft', '--local'], {home, env})
    assert.equal(second.code, 0, second.stderr)
    assert.match(second.stdout, /Image up to date: rfm-local:base-[0-9a-f]{32}\nImage up to date: rfm-local:sft-[0-9a-f]{32}/)
  })

  it('fails with a typed error and a hint when no Docker engine runs, when buildx is missing, and without imageRepository', async () => {
    const engine = await rfmJson(['build', 'sft', '--local'], {home, env: dockerEnv(['engine'])})
    assert.equal(engine.code, 1)
    assertSchema('error', engine.json)
    assert.equal(engine.json.error.code, 'DOCKER_ENGINE')
    assert.match(engine.json.error.message, /Is the docker daemon running\?/)
    assert.ok(engine.json.error.hint)

    const buildx = await rfm(['build', '--local'], {home, env: dockerEnv(['buildx'])})
    assert.equal(buildx.code, 1)
    assert.match(buildx.stderr, /buildx is missing[\s\S]*Hint: Install the buildx plugin/)
    assert.doesNotMatch(buildx.stderr, /    at /, 'no stack trace')

    const noRepo = await rfmJson(['build', 'sft'], {home: tempHome()})
    assert.equal(noRepo.code, 2)
    assert.equal(noRepo.json.error.code, 'CONFIG_INVALID')
    assert.match(noRepo.json.error.hint, /rfm config set imageRepository/)
  })

  it('rejects an unknown kind, --requirements for a tfjs image, and a malformed imageRepository', async () => {
    const unknown = await rfmJson(['build', 'sfx', '--dry-run'], {home})
    assert.equal(unknown.code, 2)
    assert.equal(unknown.json.error.code, 'UNKNOWN_KIND')
    const req = await rfmJson(['build', 'grpo', '-r', 'requirements.txt', '--dry-run'], {home})
    assert.equal(req.code, 2)
    assert.equal(req.json.error.code, 'USAGE')
    const bad = await rfm(['config', 'set', 'imageRepository', 'docker.io/me/rfm'], {home})
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /imageRepository/)
  })
})

describe('the real docker CLI, where one is installed', () => {
  it('is reported as "no engine" when its daemon does not answer', async (t) => {
    const docker = new DockerCli()
    const probe = await docker.run(['version', '--format', '{{.Server.Version}}']).catch(() => undefined)
    if (!probe) return t.skip('no docker CLI on PATH')
    if (probe.code === 0) return t.skip('a Docker engine is running here')
    await assert.rejects(docker.checkEngine(), (error: {code?: string; message: string}) => error.code === 'DOCKER_ENGINE' && /daemon|connect/i.test(error.message))
  })
})
