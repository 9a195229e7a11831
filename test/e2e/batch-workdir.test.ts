/**
 * A `command` job on AWS Batch runs from a staged copy of its workdir, never from a path of the
 * launching machine (issue 18, B2), asks Batch only for the resources its config names (B3), and gets
 * retries on spot unless it sets them (C1); `--dry-run --json` shows the exact requests.
 */
import assert from 'node:assert/strict'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {BatchBackend} from '../../src/backends/aws-batch'
import {requestedResources} from '../../src/jobs/resources'
import {findKind, loadKinds} from '../../src/jobs/registry'
import {resolveJob} from '../../src/jobs/resolve'
import {readManifest, resolveRef} from '../../src/staging'
import {rfmJson, tempHome} from '../helpers/cli'
import {fakeBatchSuite, FakeBatch, IMAGE, JOB_DEFINITION, QUEUES, RUNTIME} from '../helpers/fake-batch'

const node = JSON.stringify(process.execPath)

describe('the command workdir on AWS Batch (fake Batch, real runtime)', () => {
  const suite = fakeBatchSuite()

  test('the workdir is staged content-addressed (ignore files honoured) and the job runs from its copy; no laptop path reaches Batch', async () => {
    const laptop = path.join(suite.world.dir, 'laptop')
    const mark = path.join(suite.world.dir, 'seen.json')
    mkdirSync(path.join(laptop, 'cfg'), {recursive: true})
    mkdirSync(path.join(laptop, 'big'), {recursive: true})
    mkdirSync(path.join(laptop, '.git'), {recursive: true})
    mkdirSync(path.join(laptop, 'out', 'checkpoint-1'), {recursive: true})
    writeFileSync(path.join(laptop, 'cfg', 'params.json'), '{"lr": 0.1}')
    writeFileSync(path.join(laptop, 'big', 'data.bin'), 'x'.repeat(1000))
    writeFileSync(path.join(laptop, '.git', 'HEAD'), 'ref: refs/heads/main')
    writeFileSync(path.join(laptop, 'secret.txt'), 'do not upload')
    writeFileSync(path.join(laptop, 'out', 'checkpoint-1', 'trainer_state.json'), '{}')
    writeFileSync(path.join(laptop, '.gitignore'), 'big/\n')
    writeFileSync(path.join(laptop, '.rfmignore'), 'secret.txt\n')
    writeFileSync(
      path.join(laptop, 'train.js'),
      `const fs = require('fs'); fs.writeFileSync(process.env.MARK, JSON.stringify({cwd: process.cwd(), params: fs.readFileSync('cfg/params.json', 'utf8'), files: fs.readdirSync('.').sort()}))`,
    )
    const staged: Array<{field: string; ref: string; files: number}> = []
    const file = suite.world.config([`command: [${node}, train.js]`, `env: {MARK: ${JSON.stringify(mark)}}`, 'checkpoints: {dir: out}'])
    const run = await suite.world.launch(file, {onStaged: (s) => staged.push(s)})
    const final = await suite.world.finish(run)
    assert.equal(final.state, 'succeeded', final.reason)

    const seen = JSON.parse(readFileSync(mark, 'utf8')) as {cwd: string; params: string; files: string[]}
    assert.notEqual(seen.cwd, laptop)
    assert.equal(seen.params, '{"lr": 0.1}')
    // out/ is the checkpoint folder the runtime made (empty: checkpoints come from the store, not the laptop)
    assert.deepEqual(seen.files, ['.gitignore', '.rfmignore', 'cfg', 'job-1.yaml', 'out', 'train.js'])

    assert.equal(staged.length, 1)
    assert.equal(staged[0].field, 'workdir')
    assert.match(String(final.config.workdir), /^ds:workdir-laptop@[0-9a-f]{12}$/)
    assert.equal(staged[0].ref, final.config.workdir)
    const manifest = await readManifest(suite.world.runs.store, (await resolveRef(suite.world.runs.store, String(final.config.workdir))).hash)
    assert.deepEqual(manifest.files.map((f) => f.path).sort(), ['.gitignore', '.rfmignore', 'cfg/params.json', 'job-1.yaml', 'train.js'])

    // Nothing of the laptop in what Batch gets or what the job reads.
    const request = JSON.stringify(suite.fake.calls.SubmitJob.at(-1))
    assert.ok(!request.includes(laptop), request)
    assert.ok(!JSON.stringify(final.config).includes(laptop), JSON.stringify(final.config))
  })

  test('a large workdir is staged with a warning that names its largest files', async () => {
    const {stageWorkdir} = await import('../../src/jobs/workdir.js')
    const dir = path.join(suite.world.dir, 'big-laptop')
    mkdirSync(dir)
    writeFileSync(path.join(dir, 'train.py'), 'print(1)')
    writeFileSync(path.join(dir, 'weights.bin'), Buffer.alloc(4096))
    const warnings: string[] = []
    const config = await stageWorkdir({command: 'python train.py', workdir: dir}, suite.world.runs.store, {warnBytes: 1024, onWarning: (w) => warnings.push(w)})
    assert.match(String(config.workdir), /^ds:workdir-big-laptop@/)
    assert.equal(warnings.length, 1)
    assert.match(warnings[0], /holds 4\.1 KB in 2 files.*Largest: weights\.bin.*\.rfmignore/)
    const quiet: string[] = []
    await stageWorkdir({command: 'python train.py', workdir: dir}, suite.world.runs.store, {onWarning: (w) => quiet.push(w)})
    assert.deepEqual(quiet, [], 'no warning below the default limit')
  })

  test('a checkpoint folder outside the workdir is refused before anything is recorded', async () => {
    const file = suite.world.config([`command: [${node}, -e, "0"]`, `checkpoints: {dir: ${JSON.stringify(path.join(suite.world.dir, 'elsewhere'))}}`])
    await assert.rejects(
      suite.world.launch(file),
      (error: Error & {code?: string; hint?: string}) => error.code === 'CONFIG_INVALID' && /checkpoints\.dir/.test(error.message) && /relative to workdir/.test(error.hint ?? ''),
    )
  })

  test('a registered revision is reused only while the roles and log group match the definition the profile names', async () => {
    const image = IMAGE.replace('0123abcd', 'c0ffee00')
    const backend = new BatchBackend({profile: suite.world.profile, resolveImage: async () => image, pollMs: 25})
    const current = suite.fake.definitions.get(JOB_DEFINITION)!
    const original = structuredClone(current.containerProperties)
    current.containerProperties = {...original, jobRoleArn: 'arn:aws:iam::123456789012:role/rfm-job-a', logConfiguration: {logDriver: 'awslogs', options: {'awslogs-group': '/rfm/a/jobs'}}}
    const file = suite.world.config([`command: [${node}, -e, "0"]`])
    const before = suite.fake.calls.RegisterJobDefinition.length
    const first = await suite.world.launch(file, {}, backend)
    const second = await suite.world.launch(file, {}, backend)
    assert.equal(suite.fake.calls.RegisterJobDefinition.length, before + 1, 'same roles and logs: the revision is reused')
    // rfm infra up replaced the job role (e.g. destroy and up): the old revision names a role that is gone.
    current.containerProperties = {...current.containerProperties, jobRoleArn: 'arn:aws:iam::123456789012:role/rfm-job-b'}
    const third = await suite.world.launch(file, {}, backend)
    assert.equal(suite.fake.calls.RegisterJobDefinition.length, before + 2)
    assert.equal((suite.fake.calls.RegisterJobDefinition.at(-1) as {containerProperties: {jobRoleArn: string}}).containerProperties.jobRoleArn, 'arn:aws:iam::123456789012:role/rfm-job-b')
    // and a new log group as well
    current.containerProperties = {...current.containerProperties, logConfiguration: {logDriver: 'awslogs', options: {'awslogs-group': '/rfm/b/jobs'}}}
    const fourth = await suite.world.launch(file, {}, backend)
    assert.equal(suite.fake.calls.RegisterJobDefinition.length, before + 3)
    for (const run of [first, second, third, fourth]) await suite.world.finish(run)
    current.containerProperties = original
  })

  test('a command job asks Batch for resources only when its config names them', async () => {
    const kinds = await loadKinds([])
    const job = (lines: string[]) => resolveJob(findKind(kinds, 'command'), {file: suite.world.config(lines)})
    assert.equal(requestedResources(await job([`command: [${node}, -e, "0"]`])), undefined)
    assert.deepEqual(requestedResources(await job([`command: [${node}, -e, "0"]`, 'resources: {gpus: 1, cpus: 8, memory: 30GiB}'])), {gpus: 1, cpus: 8, memoryGiB: 30})
    assert.deepEqual(requestedResources(await job([`command: [${node}, -e, "0"]`, 'resources: {memory: 15360MiB}'])), {memoryGiB: 15})
  })
})

describe('rfm cloud launch --dry-run --json on an aws-batch profile', () => {
  let fake: FakeBatch
  let home: string
  let env: Record<string, string>
  let laptop: string
  before(async () => {
    fake = await new FakeBatch({runtime: RUNTIME}).start()
    const url = await fake.serveHttp()
    home = tempHome()
    laptop = path.join(home, 'laptop')
    mkdirSync(laptop)
    const profile = {backend: 'aws-batch', store: `file://${home}/store`, region: 'us-east-1', queues: QUEUES, jobDefinitions: {command: JOB_DEFINITION}, imageRepository: IMAGE.split(':')[0]}
    writeFileSync(path.join(home, 'config.json'), JSON.stringify({active: 'cloud', profiles: {cloud: profile}}))
    env = {
      AWS_ENDPOINT_URL_BATCH: url,
      AWS_ACCESS_KEY_ID: 'fake',
      AWS_SECRET_ACCESS_KEY: 'fake',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    }
  })
  after(() => fake.stop())

  const dryRun = async (lines: string[]) => {
    const file = path.join(laptop, 'job.yaml')
    writeFileSync(file, lines.join('\n') + '\n')
    const result = await rfmJson(['cloud', 'launch', 'command', '-c', file, '--dry-run'], {home, env})
    assert.equal(result.code, 0, result.stderr)
    return result
  }

  test('prints the exact SubmitJob and RegisterJobDefinition inputs: no placeholder resources, spot retries, no laptop path', async () => {
    const {json} = await dryRun([`command: [python, train.py]`])
    const submit = json.submitJob
    assert.equal(submit.jobQueue, QUEUES.spot)
    assert.equal(submit.containerOverrides.resourceRequirements, undefined, "the job definition's vCPUs, memory and GPUs apply")
    assert.equal(submit.retryStrategy.attempts, 5, 'retries.attempts unset: 5 on spot')
    assert.deepEqual(
      submit.containerOverrides.environment.map((e: {name: string}) => e.name),
      ['RFM_STORE', 'RFM_RUN_ID', 'RFM_SPOT_ENDPOINT', 'AWS_REGION'],
    )
    assert.ok(!JSON.stringify(submit).includes(laptop))
    // The definition runs another image: a revision with the content-hash tag would be registered.
    const register = json.registerJobDefinition
    assert.equal(register.jobDefinitionName, 'rfm-command')
    assert.match(register.containerProperties.image, new RegExp(`^${IMAGE.split(':')[0].replace(/\./g, '\\.')}:external-[0-9a-f]{32}$`))
    assert.equal(fake.calls.SubmitJob.length, 0, 'a dry run submits nothing')
    assert.equal(fake.calls.RegisterJobDefinition.length, 0, 'and registers nothing')
  })

  test('resources in the config become resourceRequirements; one attempt on spot is warned about', async () => {
    const {json} = await dryRun([`command: [python, train.py]`, 'resources: {gpus: 1, cpus: 8, memory: 30GiB}', 'retries: {attempts: 1}'])
    assert.deepEqual(json.submitJob.containerOverrides.resourceRequirements, [
      {type: 'VCPU', value: '8'},
      {type: 'MEMORY', value: '30720'},
      {type: 'GPU', value: '1'},
    ])
    assert.equal(json.submitJob.retryStrategy.attempts, 1)
    assert.match(json.warnings.join('\n'), /retries\.attempts is 1 on the spot queue/)
  })

  test('the on-demand queue keeps one attempt by default', async () => {
    const file = path.join(laptop, 'job.yaml')
    writeFileSync(file, 'command: [python, train.py]\n')
    const {code, json} = await rfmJson(['cloud', 'launch', 'command', '-c', file, '--dry-run', '--queue', 'on-demand'], {home, env})
    assert.equal(code, 0)
    assert.equal(json.submitJob.retryStrategy.attempts, 1)
    assert.equal(json.submitJob.jobQueue, QUEUES.onDemand)
  })
})
