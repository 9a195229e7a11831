/**
 * The build flow (check tag → engine/buildx → login → build → push) against the recording docker
 * stand-in in test/fixtures/fake-docker, put first on PATH, and a mocked ECR client.
 */
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {afterEach, beforeEach, describe, it} from 'node:test'
import {DescribeImagesCommand, ECRClient, GetAuthorizationTokenCommand, ImageNotFoundException, RepositoryNotFoundException} from '@aws-sdk/client-ecr'
import {mockClient} from 'aws-sdk-client-mock'

import {DockerCli} from '../../../src/containers/docker'
import {ensureImage, type KindRef} from '../../../src/containers/ensure'
import {baseImage, pluginImage} from '../../../src/containers/images'
import {RfmError} from '../../../src/errors'
import {ROOT} from '../../helpers/cli'
import {fakeRoot, sftPlugin} from '../../helpers/containers-fake-root'

const FAKE_DOCKER_DIR = path.join(ROOT, 'test', 'fixtures', 'fake-docker')
const REPO = '123456789012.dkr.ecr.us-east-1.amazonaws.com/team/rfm'
const PASSWORD = 'ecr-password-that-must-not-appear-in-argv'

interface Call {
  argv: string[]
  stdin?: string
  context?: Array<{path: string; mode: string; sha256: string}>
}

function fakeDocker(fail: string[] = [], pathValue?: string) {
  const log = path.join(mkdtempSync(path.join(os.tmpdir(), 'rfm-fake-docker-')), 'calls.jsonl')
  const env = {...process.env, PATH: pathValue ?? `${FAKE_DOCKER_DIR}${path.delimiter}${process.env.PATH}`, FAKE_DOCKER_LOG: log, FAKE_DOCKER_FAIL: fail.join(',')}
  const calls = (): Call[] =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Call)
      : []
  return {docker: new DockerCli({env}), calls, steps: () => calls().map((c) => c.argv.slice(0, c.argv[0] === 'buildx' ? 2 : 1).join(' '))}
}

const ecr = mockClient(ECRClient)

function imageMissing(): void {
  ecr.on(DescribeImagesCommand).rejects(new ImageNotFoundException({message: 'The image requested does not exist', $metadata: {}}))
}

function imagesPresent(tags: string[]): void {
  ecr.on(DescribeImagesCommand).callsFake((input: {imageIds: Array<{imageTag: string}>}) => {
    const tag = input.imageIds[0].imageTag
    if (tags.includes(tag)) return {imageDetails: [{imageTags: [tag], imageDigest: 'sha256:1'}]}
    throw new ImageNotFoundException({message: 'not found', $metadata: {}})
  })
}

function sftKind(root: string): KindRef {
  return {kind: {name: 'sft'}, plugin: sftPlugin(root)}
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<RfmError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof RfmError, `expected an RfmError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    assert.ok(error.hint, `${code} has a hint`)
    return error
  }
  assert.fail(`expected ${code}`)
}

describe('rfm build flow', () => {
  let root: string
  beforeEach(() => {
    ecr.reset()
    ecr.on(GetAuthorizationTokenCommand).resolves({authorizationData: [{authorizationToken: Buffer.from(`AWS:${PASSWORD}`).toString('base64')}]})
    root = fakeRoot()
  })
  afterEach(() => ecr.reset())

  it('builds and pushes base then plugin image when ECR has neither: login → build → push', async () => {
    imageMissing()
    const fake = fakeDocker()
    const lines: string[] = []
    const result = await ensureImage(sftKind(root), {imageRepository: REPO}, {root, docker: fake.docker, log: (l) => lines.push(l)})
    const base = await baseImage(root)
    const plugin = await pluginImage(sftPlugin(root), root)

    assert.deepEqual(fake.steps(), ['version', 'buildx version', 'login', 'buildx build', 'push', 'buildx build', 'push'])
    const calls = fake.calls()
    const login = calls[2]
    assert.deepEqual(login.argv, ['login', '--username', 'AWS', '--password-stdin', '123456789012.dkr.ecr.us-east-1.amazonaws.com'])
    assert.equal(login.stdin, PASSWORD)
    for (const call of calls) assert.ok(!call.argv.join(' ').includes(PASSWORD), 'the password never appears in argv')

    const [buildBase, pushBase, buildPlugin, pushPlugin] = calls.slice(3)
    assert.ok(buildBase.argv.includes(`${REPO}:${base.tag}`))
    assert.deepEqual(pushBase.argv, ['push', `${REPO}:${base.tag}`])
    assert.deepEqual(pushPlugin.argv, ['push', `${REPO}:${plugin.tag}`])
    const buildArg = buildPlugin.argv[buildPlugin.argv.indexOf('--build-arg') + 1]
    assert.equal(buildArg, `BASE_IMAGE=${REPO}:${base.tag}`, 'the plugin image is built FROM the base by its content tag')
    // The context the CLI saw holds exactly the hashed files.
    assert.deepEqual(
      buildBase.context!.map((f) => f.path),
      base.files.map((f) => f.path).sort(),
    )
    assert.deepEqual(
      buildPlugin.context!.map((f) => f.path),
      ['Dockerfile', 'rfm/plugins/sft/dist/kinds.js', 'rfm/plugins/sft/package.json'],
    )
    assert.equal(buildBase.context!.find((f) => f.path === 'rfm/dist/src/runtime/hook.sh')!.mode, '755')

    assert.deepEqual(
      result.images.map((i) => [i.image, i.status]),
      [
        ['base', 'built'],
        ['sft', 'built'],
      ],
    )
    assert.equal(result.ref, `${REPO}:${plugin.tag}`)
    const described = ecr.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input)
    assert.deepEqual(described, [
      {registryId: '123456789012', repositoryName: 'team/rfm', imageIds: [{imageTag: base.tag}]},
      {registryId: '123456789012', repositoryName: 'team/rfm', imageIds: [{imageTag: plugin.tag}]},
    ])
    assert.equal(ecr.commandCalls(GetAuthorizationTokenCommand).length, 1, 'one login for both images')
    assert.ok(lines.some((l) => l.startsWith('Pushed ')))
  })

  it('neither builds nor pushes, nor even runs docker, when ECR has the tags', async () => {
    const base = await baseImage(root)
    const plugin = await pluginImage(sftPlugin(root), root)
    imagesPresent([base.tag, plugin.tag])
    const fake = fakeDocker()
    const lines: string[] = []
    const result = await ensureImage(sftKind(root), {imageRepository: REPO}, {root, docker: fake.docker, log: (l) => lines.push(l)})
    assert.deepEqual(fake.calls(), [])
    assert.deepEqual(
      result.images.map((i) => i.status),
      ['up-to-date', 'up-to-date'],
    )
    assert.equal(ecr.commandCalls(GetAuthorizationTokenCommand).length, 0)
    assert.deepEqual(lines, [`Image up to date: ${REPO}:${base.tag}`, `Image up to date: ${REPO}:${plugin.tag}`])
  })

  it('rebuilds only the plugin image when only plugin code changed', async () => {
    const base = await baseImage(root)
    imagesPresent([base.tag, (await pluginImage(sftPlugin(root), root)).tag])
    writeFileSync(path.join(root, 'plugins/sft/dist/kinds.js'), 'module.exports = () => ["changed"]\n')
    const fake = fakeDocker()
    const result = await ensureImage(sftKind(root), {imageRepository: REPO}, {root, docker: fake.docker})
    assert.deepEqual(
      result.images.map((i) => i.status),
      ['up-to-date', 'built'],
    )
    assert.deepEqual(fake.steps(), ['version', 'buildx version', 'login', 'buildx build', 'push'])
  })

  it("builds the external image for the command kind with the user's requirements", async () => {
    imageMissing()
    const req = path.join(mkdtempSync(path.join(os.tmpdir(), 'rfm-req-')), 'requirements.txt')
    writeFileSync(req, 'trl==0.12.1\r\n')
    const fake = fakeDocker()
    const result = await ensureImage({kind: {name: 'command'}, plugin: {name: 'rfm'}}, {imageRepository: REPO}, {root, docker: fake.docker, requirements: req})
    assert.deepEqual(
      result.images.map((i) => [i.image, i.status]),
      [['external', 'built']],
    )
    const context = fake.calls().find((c) => c.argv[1] === 'build')!.context!
    const staged = context.find((f) => f.path === 'requirements.txt')!
    const {createHash} = await import('node:crypto')
    assert.equal(staged.sha256, createHash('sha256').update('trl==0.12.1\n').digest('hex'))
  })

  it('gives a kind that declares image "external" the external image with its plugin code', async () => {
    imageMissing()
    const fake = fakeDocker()
    const result = await ensureImage({kind: {name: 'sft', image: 'external'}, plugin: sftPlugin(root)}, {imageRepository: REPO}, {root, docker: fake.docker})
    assert.deepEqual(
      result.images.map((i) => [i.image, i.status]),
      [['external-sft', 'built']],
    )
    const context = fake
      .calls()
      .find((c) => c.argv[1] === 'build')!
      .context!.map((f) => f.path)
    assert.ok(context.includes('rfm/plugins/sft/dist/kinds.js') && context.includes('requirements.txt') && !context.includes('rfm/plugins/grpo/dist/kinds.js'))
  })

  it("uses a kind's own full image reference as is", async () => {
    const fake = fakeDocker()
    const result = await ensureImage({kind: {name: 'x', image: 'ghcr.io/acme/trainer:1.2'}, plugin: {name: 'acme'}}, {}, {root, docker: fake.docker})
    assert.equal(result.ref, 'ghcr.io/acme/trainer:1.2')
    assert.equal(result.images[0].status, 'custom')
    assert.deepEqual(fake.calls(), [])
  })

  it('says when no Docker engine is running, before logging in', async () => {
    imageMissing()
    const fake = fakeDocker(['engine'])
    const error = await rejectsWith(ensureImage(sftKind(root), {imageRepository: REPO}, {root, docker: fake.docker}), 'DOCKER_ENGINE')
    assert.match(error.message, /Cannot connect to the Docker daemon at unix:\/\/\/var\/run\/docker\.sock/)
    assert.deepEqual(fake.steps(), ['version'])
    assert.equal(ecr.commandCalls(GetAuthorizationTokenCommand).length, 0)
  })

  it('says when buildx is missing', async () => {
    imageMissing()
    const fake = fakeDocker(['buildx'])
    const error = await rejectsWith(ensureImage(sftKind(root), {imageRepository: REPO}, {root, docker: fake.docker}), 'DOCKER_BUILDX')
    assert.match(error.hint!, /buildx/)
    assert.deepEqual(fake.steps(), ['version', 'buildx version'])
  })

  it('recognises the newer CLI wording for a missing buildx too', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-docker-new-'))
    writeFileSync(path.join(dir, 'docker'), '#!/bin/sh\necho "docker: unknown command: docker buildx" >&2\necho >&2\necho "Run \'docker --help\' for more information" >&2\nexit 1\n', {mode: 0o755})
    const docker = new DockerCli({env: {...process.env, PATH: `${dir}${path.delimiter}${process.env.PATH}`}})
    await rejectsWith(docker.checkBuildx(), 'DOCKER_BUILDX')
  })

  it('says when ECR login fails: at docker login, and at GetAuthorizationToken', async () => {
    imageMissing()
    const fake = fakeDocker(['login'])
    const error = await rejectsWith(ensureImage(sftKind(root), {imageRepository: REPO}, {root, docker: fake.docker}), 'ECR_LOGIN')
    assert.match(error.message, /400 Bad Request/)
    assert.deepEqual(fake.steps(), ['version', 'buildx version', 'login'])

    ecr.on(GetAuthorizationTokenCommand).rejects(Object.assign(new Error('The security token included in the request is invalid.'), {name: 'UnrecognizedClientException'}))
    const fake2 = fakeDocker()
    const error2 = await rejectsWith(ensureImage(sftKind(root), {imageRepository: REPO}, {root, docker: fake2.docker}), 'ECR_LOGIN')
    assert.match(error2.message, /security token/)
    assert.deepEqual(fake2.steps(), ['version', 'buildx version'])
  })

  it('stops at a failed build without pushing, and reports a failed push', async () => {
    imageMissing()
    const fake = fakeDocker(['build'])
    const error = await rejectsWith(ensureImage(sftKind(root), {imageRepository: REPO}, {root, docker: fake.docker}), 'DOCKER_BUILD')
    assert.match(error.message, /failed to solve/)
    assert.ok(!fake.steps().includes('push'))

    const fake2 = fakeDocker(['push'])
    await rejectsWith(ensureImage(sftKind(root), {imageRepository: REPO}, {root, docker: fake2.docker}), 'DOCKER_PUSH')
    assert.deepEqual(fake2.steps(), ['version', 'buildx version', 'login', 'buildx build', 'push'])
  })

  it('says when the repository does not exist, or the profile names none, or docker is not installed', async () => {
    ecr.on(DescribeImagesCommand).rejects(new RepositoryNotFoundException({message: 'no repo', $metadata: {}}))
    const error = await rejectsWith(ensureImage(sftKind(root), {imageRepository: REPO}, {root, docker: fakeDocker().docker}), 'ECR')
    assert.match(error.hint!, /rfm infra up/)
    await rejectsWith(ensureImage(sftKind(root), {}, {root, docker: fakeDocker().docker}), 'CONFIG_INVALID')

    imageMissing()
    const empty = mkdtempSync(path.join(os.tmpdir(), 'rfm-no-docker-'))
    await rejectsWith(ensureImage(sftKind(root), {imageRepository: REPO}, {root, docker: fakeDocker([], empty).docker}), 'DOCKER_MISSING')
  })

  it('builds into the local engine with --local, and finds the image there the second time', async () => {
    const fake = fakeDocker()
    const first = await ensureImage(sftKind(root), {}, {root, docker: fake.docker, local: true})
    assert.deepEqual(
      first.images.map((i) => i.status),
      ['built', 'built'],
    )
    assert.ok(first.ref!.startsWith('rfm-local:sft-'))
    const second = await ensureImage(sftKind(root), {}, {root, docker: fake.docker, local: true})
    assert.deepEqual(
      second.images.map((i) => i.status),
      ['up-to-date', 'up-to-date'],
    )
    assert.ok(!fake.steps().includes('push') && !fake.steps().includes('login'))
    assert.equal(ecr.calls().length, 0, 'no ECR call in local mode')
  })
})
