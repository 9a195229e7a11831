/**
 * The Automation API wrapper without Pulumi: finding the CLI, the missing-CLI and spawn-ENOENT paths,
 * stack config precedence, and stack outputs → profile (in a temp RFM_HOME). The Pulumi stack itself
 * is replaced by an in-memory StackLike, since no Pulumi CLI can run here.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {chmodSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {beforeEach, describe, test} from 'node:test'

import {infraConfigSchema, type InfraOutputs} from '../../infra/config'
import {userData} from '../../infra/containers'
import {partitionOf, secretResourceArn} from '../../infra/policies'
import {resolveProfile, setProfileKey} from '../../src/config/profiles'
import {NotBuiltError, NotFoundError, UsageError, BackendError, ConfigError} from '../../src/errors'
import {resolveTarget, stackConfigFromFlags, withRegisteredKinds} from '../../src/infra/command'
import {clearOutputsFromProfile, outputsFromStack, profileValuesFromOutputs, writeOutputsToProfile} from '../../src/infra/profile-outputs'
import {findPulumi, isPulumiSpawnEnoent} from '../../src/infra/pulumi-cli'
import {pulumiError, runInfra, type InfraDeps, type OpenStackArgs, type StackLike} from '../../src/infra/run'
import {parseMaxVcpus, parseSecrets, readSavedStack, resolveStackConfig} from '../../src/infra/stack-config'
import {rfmJson, tempHome} from '../helpers/cli'
import {assertSchema} from '../helpers/schema'

const OUTPUTS: InfraOutputs = {
  region: 'eu-west-1',
  bucket: 'rfm-data-1a2b3c',
  queues: {spot: 'arn:aws:batch:eu-west-1:123456789012:job-queue/rfm-spot', onDemand: 'arn:aws:batch:eu-west-1:123456789012:job-queue/rfm-od'},
  jobDefinitions: {sft: 'arn:aws:batch:eu-west-1:123456789012:job-definition/rfm-aws-sft:1'},
  imageRepository: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/rfm-aws/images',
  repositories: {images: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/rfm-aws/images'},
  logGroup: '/rfm/aws/jobs',
  jobRoleArn: 'arn:aws:iam::123456789012:role/rfm-job',
}

const asOutputMap = (outputs: object) => Object.fromEntries(Object.entries(outputs).map(([k, value]) => [k, {value, secret: false}]))

/** An in-memory stack that records what it was asked to do. */
function fakeDeps(outputs: object = OUTPUTS) {
  const opened: OpenStackArgs[] = []
  const calls: string[] = []
  const stack: StackLike = {
    async preview({onOutput}) {
      calls.push('preview')
      onOutput?.('Previewing update (aws)\n')
      return {changeSummary: {create: 31}}
    },
    async up({onOutput}) {
      calls.push('up')
      onOutput?.('Updating (aws)\n')
      return {outputs: asOutputMap(outputs), summary: {resourceChanges: {create: 31}}}
    },
    async destroy() {
      calls.push('destroy')
      return {summary: {resourceChanges: {delete: 31}}}
    },
    async outputs() {
      calls.push('outputs')
      return asOutputMap(outputs)
    },
  }
  const deps: InfraDeps = {
    findPulumi: () => '/opt/pulumi/bin/pulumi',
    async openStack(args) {
      opened.push(args)
      return stack
    },
  }
  return {deps, opened, calls}
}

beforeEach(() => {
  process.env.RFM_HOME = tempHome('rfm-infra-')
  delete process.env.RFM_PROFILE
  delete process.env.PULUMI_BACKEND_URL
})

describe('finding the pulumi CLI', () => {
  test('finds an executable pulumi on PATH or in $PULUMI_HOME/bin, and nothing else', () => {
    const root = tempHome('rfm-pulumi-')
    const bin = path.join(root, 'home', 'bin')
    mkdirSync(bin, {recursive: true})
    const empty = path.join(root, 'empty')
    mkdirSync(empty)
    const env = {PATH: empty, HOME: root, PULUMI_HOME: path.join(root, 'home')}
    assert.equal(findPulumi(env), undefined)
    writeFileSync(path.join(bin, 'pulumi'), '#!/bin/sh\n')
    chmodSync(path.join(bin, 'pulumi'), 0o644)
    assert.equal(findPulumi(env), undefined, 'a file that is not executable does not count')
    chmodSync(path.join(bin, 'pulumi'), 0o755)
    assert.equal(findPulumi(env), path.join(bin, 'pulumi'))
    assert.equal(findPulumi({PATH: `${empty}${path.delimiter}${bin}`, HOME: root}), path.join(bin, 'pulumi'))
  })

  test('a real `spawn pulumi ENOENT` is recognised and becomes the missing-CLI error', async () => {
    const spawnError = await new Promise<Error>((resolve) => {
      const child = spawn('pulumi', ['version'], {env: {PATH: tempHome('rfm-nopath-')}})
      child.on('error', resolve)
    })
    assert.ok(isPulumiSpawnEnoent(spawnError), String(spawnError))
    assert.equal(isPulumiSpawnEnoent(Object.assign(new Error('spawn docker ENOENT'), {code: 'ENOENT', path: 'docker'})), false)
    const mapped = pulumiError(spawnError, {action: 'up', stack: 's'}, 'file:///x')
    assert.ok(mapped instanceof NotBuiltError)
    assert.equal(mapped.code, 'PULUMI_CLI_MISSING')
    assert.equal(mapped.exitCode, 1)
    assert.match(mapped.hint ?? '', /get\.pulumi\.com/)
  })

  test('runInfra refuses before opening a stack when the CLI is missing, and maps ENOENT that slips through', async () => {
    const config = infraConfigSchema.parse({region: 'us-east-1'})
    let opened = false
    const missing: InfraDeps = {findPulumi: () => undefined, openStack: async () => ((opened = true), {} as StackLike)}
    await assert.rejects(runInfra({action: 'preview', stack: 's', profile: 'default', config}, missing), (e: unknown) => e instanceof NotBuiltError)
    assert.equal(opened, false)
    const enoent: InfraDeps = {
      findPulumi: () => '/usr/bin/pulumi',
      openStack: async () => {
        throw Object.assign(new Error('spawn pulumi ENOENT'), {code: 'ENOENT', syscall: 'spawn pulumi', path: 'pulumi'})
      },
    }
    await assert.rejects(runInfra({action: 'preview', stack: 's', profile: 'default', config}, enoent), (e: unknown) => e instanceof NotBuiltError)
  })

  test("Pulumi's command errors become rfm errors that say what failed", () => {
    const result = {stderr: 'Updating...\nerror: no valid credential sources for AWS Provider found\n', code: 255}
    const failed = pulumiError(Object.assign(new Error('x'), {name: 'CommandError', commandResult: result}), {action: 'up', stack: 'aws'}, 'file:///s')
    assert.ok(failed instanceof BackendError)
    assert.match(failed.message, /pulumi up of stack "aws" failed: error: no valid credential sources/)
    const missing = pulumiError(Object.assign(new Error('x'), {name: 'StackNotFoundError', commandResult: {stderr: ''}}), {action: 'outputs', stack: 'aws'}, 'file:///s')
    assert.ok(missing instanceof NotFoundError)
    const locked = pulumiError(Object.assign(new Error('x'), {name: 'ConcurrentUpdateError', commandResult: {stderr: ''}}), {action: 'up', stack: 'aws'}, 'file:///s')
    assert.ok(locked instanceof BackendError)
    assert.match(locked.hint ?? '', /pulumi cancel --stack aws/)
  })
})

describe('stack config', () => {
  test('precedence: last applied ← config file ← flags ← --set, with the region from the profile as a fallback', () => {
    const config = resolveStackConfig({
      stack: 'aws',
      previous: {region: 'us-west-2', gpuFamilies: ['g5', 'g6'], logRetentionDays: 14, rootVolumeGiB: 300},
      file: {gpuFamilies: ['g6e'], logRetentionDays: 60},
      flags: {logRetentionDays: 90, onDemandFallback: undefined},
      overrides: [{path: ['rootVolumeGiB'], value: 500, source: 'rootVolumeGiB=500'}],
      profile: {region: 'eu-west-1'},
      env: {},
    })
    assert.equal(config.region, 'us-west-2', "the stack's own region wins over the profile's")
    assert.deepEqual(config.gpuFamilies, ['g6e'])
    assert.equal(config.logRetentionDays, 90)
    assert.equal(config.rootVolumeGiB, 500)
    assert.equal(config.onDemandFallback, true, 'an unset flag keeps the default')
    assert.equal(resolveStackConfig({stack: 's', profile: {region: 'eu-west-1'}, env: {}}).region, 'eu-west-1')
    // rfm infra up adds a job definition for every kind the CLI has registered (a new plugin's too), plus default
    const base = resolveStackConfig({stack: 's', flags: {region: 'eu-west-1'}, env: {}})
    const kinds = withRegisteredKinds(base, ['command', 'vlm', 'my-plugin-kind']).kinds.map((k) => k.name)
    for (const kind of ['command', 'vlm', 'my-plugin-kind', 'default']) assert.ok(kinds.includes(kind), kind)
    assert.equal(new Set(kinds).size, kinds.length, 'each once')
    // a stack applied by an older rfm (multi-node queue, checkpoint expiry: both gone) still loads
    const old = resolveStackConfig({stack: 's', previous: {region: 'eu-west-1', allowMultiNode: true, checkpointExpiryDays: 14}, env: {}})
    assert.equal(old.region, 'eu-west-1')
    assert.ok(!('allowMultiNode' in old) && !('checkpointExpiryDays' in old))
    assert.throws(() => resolveStackConfig({stack: 's', flags: {region: 'eu-west-1', allowMultiNode: true} as never, env: {}}), ConfigError, 'but it is no longer a key one can set')
    assert.equal(resolveStackConfig({stack: 's', env: {AWS_REGION: 'ap-south-1'}}).region, 'ap-south-1')
    assert.throws(
      () => resolveStackConfig({stack: 's', env: {}}),
      (e: unknown) => e instanceof UsageError && /region/.test(e.message),
    )
    assert.throws(
      () => resolveStackConfig({stack: 's', flags: {region: 'us-east-1', gpuFamilies: ['g9' as 'g5']}, env: {}}),
      (e: unknown) => e instanceof ConfigError && /gpuFamilies\.0/.test(e.message) && /gpuFamilies/.test(e.hint ?? ''),
    )
  })

  test('flag parsers: --max-vcpus N | FAMILY=N, and --secret NAME=REF never echoes a value that is not a reference', () => {
    assert.deepEqual(parseMaxVcpus(['256', 'p5=192', 'g5=64']), {defaultMaxVcpus: 256, maxVcpus: {p5: 192, g5: 64}})
    assert.throws(() => parseMaxVcpus(['g5=lots']), UsageError)
    assert.deepEqual(parseSecrets(['HF_TOKEN=/rfm/hf']), [{name: 'HF_TOKEN', valueFrom: '/rfm/hf'}])
    assert.throws(
      () => parseSecrets(['WANDB_API_KEY=hunter2-plaintext']),
      (e: unknown) => e instanceof UsageError && !e.message.includes('hunter2') && !(e.hint ?? '').includes('hunter2'),
    )
  })

  test('a later command without flags reuses the config the last `up` applied', async () => {
    const {deps} = fakeDeps()
    const target = await resolveTarget({profile: 'aws'})
    assert.equal(target.stack, 'aws')
    const first = await stackConfigFromFlags(target, {region: 'eu-west-1', 'gpu-families': ['g5,p5'], 'max-vcpus': ['p5=192']})
    await runInfra({action: 'up', stack: target.stack, profile: target.profileName, config: first}, deps)
    const again = await stackConfigFromFlags(await resolveTarget({profile: 'aws'}), {})
    assert.deepEqual(again, first)
    const changed = await stackConfigFromFlags(await resolveTarget({profile: 'aws'}), {'max-vcpus': ['g5=32']})
    assert.deepEqual(changed.maxVcpus, {p5: 192, g5: 32}, 'per-family limits merge with the applied ones')
    assert.deepEqual(changed.gpuFamilies, ['g5', 'p5'])
  })
})

describe('outputs → profile', () => {
  test('the mapping is pure: aws-batch backend, s3 store, and every stack output under its key', () => {
    const values = profileValuesFromOutputs(OUTPUTS)
    assert.deepEqual(values, {
      backend: 'aws-batch',
      store: 's3://rfm-data-1a2b3c',
      region: 'eu-west-1',
      bucket: 'rfm-data-1a2b3c',
      queues: {spot: OUTPUTS.queues.spot, onDemand: OUTPUTS.queues.onDemand},
      jobDefinitions: OUTPUTS.jobDefinitions,
      imageRepository: OUTPUTS.imageRepository,
      repositories: OUTPUTS.repositories,
      logGroup: '/rfm/aws/jobs',
      jobRoleArn: OUTPUTS.jobRoleArn,
    })
    assert.deepEqual(outputsFromStack(asOutputMap(OUTPUTS)), OUTPUTS)
    assert.throws(
      () => outputsFromStack(asOutputMap({...OUTPUTS, queues: {spot: 'x'}})),
      (e: unknown) => e instanceof BackendError && /queues\.onDemand/.test(e.message),
    )
  })

  test('written into the profile file, read back by resolveProfile and by `rfm config show --json`', async () => {
    await setProfileKey('aws', 'endpoint', 'https://example.com')
    const change = await writeOutputsToProfile('aws', OUTPUTS)
    assert.ok(change.set?.includes('queues'))
    const {profile} = await resolveProfile('aws')
    assert.equal(profile.backend, 'aws-batch')
    assert.equal(profile.store, 's3://rfm-data-1a2b3c')
    assert.deepEqual(profile.queues, OUTPUTS.queues)
    assert.deepEqual(profile.jobDefinitions, OUTPUTS.jobDefinitions)
    assert.equal(profile.endpoint, 'https://example.com', 'keys the stack does not own are kept')
    const file = JSON.parse(readFileSync(path.join(process.env.RFM_HOME!, 'config.json'), 'utf8'))
    assert.equal(file.profiles.aws.logGroup, '/rfm/aws/jobs')
    const shown = await rfmJson(['config', 'show', '--profile', 'aws'], {home: process.env.RFM_HOME!})
    assert.equal(shown.code, 0, shown.stderr)
    assert.deepEqual(shown.json.settings.repositories, OUTPUTS.repositories)
    // B4: rfm build and rfm cloud launch push to and find images in the stack's repository, no hand edit
    assert.equal(profile.imageRepository, OUTPUTS.imageRepository)
    const build = await rfmJson(['build', '--dry-run', '--profile', 'aws'], {home: process.env.RFM_HOME!})
    assert.equal(build.code, 0, build.stderr)
    assert.match(build.json.images[0].ref, new RegExp(`^${OUTPUTS.imageRepository.replace(/\./g, '\\.')}:base-[0-9a-f]{32}$`))
    assert.equal(shown.json.settings.jobRoleArn, OUTPUTS.jobRoleArn)
  })

  test('clearing after destroy drops the stack keys, and the store only when it pointed at the stack bucket', async () => {
    await writeOutputsToProfile('aws', OUTPUTS)
    const cleared = await clearOutputsFromProfile('aws', OUTPUTS.bucket)
    assert.deepEqual(new Set(cleared.removed), new Set(['bucket', 'queues', 'jobDefinitions', 'imageRepository', 'repositories', 'logGroup', 'jobRoleArn', 'store', 'backend']))
    const after = await resolveProfile('aws')
    assert.equal(after.profile.backend, 'local')
    assert.match(after.profile.store, /^file:\/\//)
    assert.equal(after.profile.queues, undefined)

    await writeOutputsToProfile('other', OUTPUTS)
    await setProfileKey('other', 'store', 's3://my-own-bucket/rfm')
    const kept = await clearOutputsFromProfile('other', OUTPUTS.bucket)
    assert.ok(!kept.removed?.includes('store'))
    assert.equal((await resolveProfile('other')).profile.store, 's3://my-own-bucket/rfm')
  })

  test('up, outputs --save, destroy and preview through the wrapper produce their documented --json shapes', async () => {
    const {deps, opened, calls} = fakeDeps(OUTPUTS)
    const config = infraConfigSchema.parse({region: 'eu-west-1'})
    const streamed: string[] = []
    const preview = await runInfra({action: 'preview', stack: 'aws', profile: 'aws', config, onOutput: (t) => streamed.push(t)}, deps)
    assertSchema('infra-preview', JSON.parse(JSON.stringify(preview)))
    assert.deepEqual(preview.changes, {create: 31})
    assert.deepEqual(streamed, ['Previewing update (aws)\n'])
    assert.equal(await readSavedStack('aws'), undefined, 'preview saves nothing')

    const up = await runInfra({action: 'up', stack: 'aws', profile: 'aws', config}, deps)
    assertSchema('infra-up', JSON.parse(JSON.stringify(up)))
    assert.deepEqual((await resolveProfile('aws')).profile.queues, OUTPUTS.queues)
    assert.deepEqual((await readSavedStack('aws'))?.config, config)

    const outputs = await runInfra({action: 'outputs', stack: 'aws', profile: 'copy', save: true}, deps)
    assertSchema('infra-outputs', JSON.parse(JSON.stringify(outputs)))
    assert.equal((await resolveProfile('copy')).profile.bucket, OUTPUTS.bucket)

    const destroyed = await runInfra({action: 'destroy', stack: 'aws', profile: 'aws'}, deps)
    assertSchema('infra-destroy', JSON.parse(JSON.stringify(destroyed)))
    assert.equal((await resolveProfile('aws')).profile.bucket, undefined)
    assert.equal(await readSavedStack('aws'), undefined)

    assert.deepEqual(calls, ['preview', 'up', 'outputs', 'destroy'])
    assert.deepEqual(
      opened.map((o) => [o.create, o.config !== undefined]),
      [
        [true, true],
        [true, true],
        [false, false],
        [false, false],
      ],
    )
    assert.ok(opened.every((o) => o.backendUrl === `file://${path.join(process.env.RFM_HOME!, 'infra', 'state')}`))
  })
})

describe('policy and user-data builders', () => {
  test('secret references become the IAM resources the execution role may read', () => {
    const ref = (valueFrom: string) => ({name: 'X', valueFrom})
    const account = '123456789012'
    assert.equal(secretResourceArn(ref('/rfm/hf'), 'eu-west-1', account), `arn:aws:ssm:eu-west-1:${account}:parameter/rfm/hf`)
    assert.equal(secretResourceArn(ref('/rfm/hf'), 'cn-north-1', account), `arn:aws-cn:ssm:cn-north-1:${account}:parameter/rfm/hf`)
    const full = `arn:aws:secretsmanager:us-east-1:${account}:secret:wandb-AbC123`
    assert.equal(secretResourceArn(ref(full), 'us-east-1', account), full)
    assert.equal(secretResourceArn(ref(`${full}:api_key::`), 'us-east-1', account), full, 'a JSON-key suffix is not part of the resource')
    assert.equal(secretResourceArn(ref(`arn:aws:secretsmanager:us-east-1:${account}:secret:wandb`), 'us-east-1', account), `arn:aws:secretsmanager:us-east-1:${account}:secret:wandb-??????`)
    assert.equal(partitionOf('us-gov-west-1'), 'aws-us-gov')
  })

  test('the stop timeout in the user data follows the config and stays inside the 2-minute spot notice', () => {
    assert.match(userData({stopTimeoutSeconds: 90}), /ECS_CONTAINER_STOP_TIMEOUT=90s/)
    assert.throws(() => infraConfigSchema.parse({region: 'us-east-1', stopTimeoutSeconds: 300}))
  })
})
