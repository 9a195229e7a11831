/** Core pieces the plugins build on: kind-specific launch flags, another run's checkpoint, spatial scenes. */
import assert from 'node:assert/strict'
import {mkdtempSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {Args, Flags, Parser} from '@oclif/core'

import {BatchBackend} from '../../../src/backends/aws-batch'
import {requestOptions} from '../../../src/backends/aws-batch/request'
import {LocalBackend} from '../../../src/backends/local'
import {loadRunCheckpoint, parseRunCheckpointRef} from '../../../src/checkpoint/run-ref'
import {CheckpointStore} from '../../../src/checkpoint/store'
import {StoreCheckpointIO} from '../../../src/checkpoint/store-io'
import {toRfmError} from '../../../src/cli/errors'
import {UsageError} from '../../../src/errors'
import {jobEstimate} from '../../../src/jobs/estimate'
import {newRunRecord, planRun} from '../../../src/jobs/launch'
import {firstPositional, launchFlagOverrides, launchFlagParseError, launchFlagsForOclif, valueFlagNames} from '../../../src/jobs/launch-flags'
import type {LaunchFlag} from '../../../src/plugin-api'
import {FileStore} from '../../../src/store/file-store'
import {makeSpatialSample, spatialCorpus} from '../../../src/trainer/tasks/spatial-scenes'

const flags: Record<string, LaunchFlag> = {
  stage: {path: 'stage', type: 'string', options: ['sft', 'dpo'], description: ''},
  'sft-checkpoint': {path: 'sft_checkpoint', type: 'string', description: ''},
  'reward-funcs': {path: 'reward_funcs', type: 'list', options: ['format', 'accuracy', 'reasoning'], description: ''},
  'sensor-enabled': {path: 'model.sensor.enabled', type: 'boolean', description: ''},
}

test('the kind argument is found past flags that take values', () => {
  const values = new Set(['config', 'c', 'set'])
  assert.equal(firstPositional(['-c', 'x.yaml', '--set', 'a=1', 'sft', '--stage', 'dpo'], values), 'sft')
  assert.equal(firstPositional(['--config=x.yaml', '--follow', 'grpo'], values), 'grpo')
  assert.equal(firstPositional(['--follow'], values), undefined)
})

/** What `rfm cloud launch` does with argv once the kind is known: oclif parses the command's flags and the kind's. */
async function parseLaunch(argv: string[], kindName: string, kindFlags: Record<string, LaunchFlag> | undefined): Promise<{sets: string[]; values: Record<string, unknown>; kind: string}> {
  const base = {config: Flags.string({char: 'c'}), set: Flags.string({multiple: true}), follow: Flags.boolean({char: 'f'})}
  const input = {args: {kind: Args.string({required: true})}, strict: true, flags: {...base, ...launchFlagsForOclif(kindName, kindFlags)}}
  const parsed = await Parser.parse(argv, input).catch((error: Error) => {
    throw launchFlagParseError(error, kindName, kindFlags, (e) => toRfmError(e, 'cloud:launch'))
  })
  const values = Object.fromEntries(
    Object.keys(kindFlags ?? {})
      .filter((k) => parsed.flags[k] !== undefined)
      .map((k) => [k, parsed.flags[k]]),
  )
  return {sets: launchFlagOverrides(kindFlags, parsed.flags, parsed.raw), values, kind: parsed.args.kind as string}
}

test('launch flags are oclif flags built from the kind; their values become overrides in argv order', async () => {
  const out = await parseLaunch(
    ['sft', '-c', 'x.yaml', '--stage', 'dpo', '--reward-funcs', 'format', 'accuracy', '--set', 'a=1', '--no-sensor-enabled', '--sft-checkpoint=run-1@best', '--follow'],
    'sft',
    flags,
  )
  assert.equal(out.kind, 'sft')
  assert.deepEqual(out.sets, ['stage="dpo"', 'reward_funcs=["format","accuracy"]', 'model.sensor.enabled=false', 'sft_checkpoint="run-1@best"'])
  assert.deepEqual((await parseLaunch(['x', '--sensor-enabled'], 'vla', flags)).values, {'sensor-enabled': true})
  assert.deepEqual((await parseLaunch(['x', '--reward-funcs=format,reasoning'], 'grpo', flags)).values, {'reward-funcs': ['format', 'reasoning']})
  assert.deepEqual((await parseLaunch(['x', '--steps', '12'], 'vla', {steps: {path: 'builtin.max_steps', type: 'number', description: ''}})).sets, ['builtin.max_steps=12'])
  // a kind without launch flags: its flags are not flags
  await assert.rejects(parseLaunch(['command', '--stage', 'x'], 'command', undefined), /Nonexistent flag: --stage/)
  // the command's value flags, from its flag table, tell the kind argument apart from their values
  assert.equal(firstPositional(['-c', 'x.yaml', '--set', 'a=1', 'sft'], valueFlagNames({config: Flags.string({char: 'c'}), set: Flags.string(), follow: Flags.boolean()})), 'sft')
})

test('bad launch flag values are usage errors naming the flag and listing the kind flags', async () => {
  const bad = (argv: string[], pattern: RegExp) =>
    assert.rejects(parseLaunch(argv, 'sft', flags), (e: UsageError) => e instanceof UsageError && e.exitCode === 2 && pattern.test(e.message) && /--stage VALUE/.test(e.hint ?? ''))
  await bad(['sft', '--stage', 'ppo'], /^--stage: "ppo" is not one of sft, dpo/)
  await bad(['sft', '--stage'], /--stage expects a value/)
  await bad(['sft', '--stage', '--follow'], /--stage expects a value/)
  await bad(['sft', '--reward-funcs', '--follow'], /--reward-funcs expects a value/)
  await bad(['sft', '--reward-funcs', 'format', 'vibes'], /^--reward-funcs: "vibes" is not one of/)
  await bad(['sft', '--no-stage'], /Nonexistent flag: --no-stage/)
  await bad(['sft', '--bogus'], /Nonexistent flag: --bogus/)
  await assert.rejects(parseLaunch(['x', '--steps', 'many'], 'vla', {steps: {path: 's', type: 'number', description: ''}}), /--steps: expects a number, got "many"/)
})

test("a launch asks the kind's hooks once: one external() and one estimate() for the planned run record", () => {
  const calls = {external: 0, estimate: 0}
  const kind = {
    name: 'counted',
    summary: '',
    schema: {} as any,
    train: async () => {},
    estimate: () => (calls.estimate++, {gpus: 1, gpuMemoryGiB: 8, cpus: 2, memoryGiB: 4}),
    external: () => (calls.external++, {argv: ['python3', 'train.py'], cwd: '/w', env: {}}),
  }
  const job = {kind, plugin: {name: 'x'}, config: {}, retries: {evaluate_on_exit: []}, source: {overrides: []}} as any
  jobEstimate(job) // the command's plan note asks first
  const {run, command} = planRun(job, {profile: {name: 'p'}, runs: {store: {url: 'file:///s'}}, backend: new BatchBackend()} as any)
  assert.deepEqual(calls, {external: 1, estimate: 1})
  assert.ok(run.backend.name === 'aws-batch')
  assert.deepEqual(run.backend.request, {queue: 'spot', resources: {gpus: 1, cpus: 2, memoryGiB: 4}, externalTrainer: true})
  assert.equal(run.retries.attempts, 5, "the spot queue's default attempts")
  assert.deepEqual(command?.argv, ['python3', 'train.py'])
})

test("another run's checkpoint by RUN, RUN@step, RUN@best, RUN@final, RUN@latest", async () => {
  const store = new FileStore(mkdtempSync(path.join(os.tmpdir(), 'rfm-runref-')))
  const io = new StoreCheckpointIO(new CheckpointStore(store, 'sft-1'), {bestMetric: 'eval_loss', greaterIsBetter: false}, 1)
  for (const [step, loss] of [
    [10, 0.5],
    [20, 0.2],
    [30, 0.4],
  ])
    await io.save(step, {'model.bin': new Uint8Array([step])}, {step}, {metrics: {eval_loss: loss}})
  const step = async (ref: string) => (await loadRunCheckpoint(store, ref)).step
  assert.equal(await step('sft-1'), 30, 'no final yet: the newest')
  assert.equal(await step('sft-1@10'), 10)
  assert.equal(await step('sft-1@latest'), 30)
  const loaded = await loadRunCheckpoint(store, 'sft-1@20')
  assert.deepEqual([...loaded.files['model.bin']], [20])
  assert.deepEqual(loaded.state, {step: 20})
  assert.equal(loaded.runId, 'sft-1')
  await io.save(40, {'model.bin': new Uint8Array([40])}, {step: 40}, {final: true})
  assert.equal(await step('sft-1'), 40, 'finished: the final one')
  assert.equal(await step('sft-1@final'), 40)
  await assert.rejects(loadRunCheckpoint(store, 'sft-1@15'), /no committed checkpoint at step 15/)
  await assert.rejects(loadRunCheckpoint(store, 'nope'), /has no committed checkpoint/)
  assert.throws(() => parseRunCheckpointRef('run@@3'), UsageError)
  assert.deepEqual(parseRunCheckpointRef('r-1@best'), {runId: 'r-1', choice: {pointer: 'best'}})
})

test('spatial scenes: deterministic, answers agree with the objects, words covered by the corpus', () => {
  const words = new Set(spatialCorpus().join(' ').split(/\s+/))
  const tasks = new Set<string>()
  for (let i = 0; i < 200; i++) {
    const s = makeSpatialSample(3, i, 32)
    assert.deepEqual(s, makeSpatialSample(3, i, 32))
    tasks.add(s.task)
    assert.ok(!s.wrongAnswers.includes(s.answer))
    if (s.task === 'count') {
      const shape = /how many (\w+)s/.exec(s.question)![1]
      assert.equal(s.answer, String(s.objects.filter((o) => o.shape === shape).length))
    }
    if (s.task === 'relation') {
      const [, c1, s1, c2, s2] = /is the (\w+) (\w+) .* the (\w+) (\w+) \?/.exec(s.question)!
      const a = s.objects.find((o) => o.color === c1 && o.shape === s1)!
      const b = s.objects.find((o) => o.color === c2 && o.shape === s2)!
      const expected = Math.abs(a.x - b.x) >= Math.abs(a.y - b.y) ? (a.x < b.x ? 'left' : 'right') : a.y < b.y ? 'above' : 'below'
      assert.equal(s.answer, expected)
    }
    if (s.task === 'multiple_choice')
      assert.match(
        s.choices!.find((c) => c.startsWith(s.answer))!,
        /left|right|above|below/,
      )
    for (const w of [...s.question.split(' '), s.answer, ...s.reasoningSteps.join(' ').split(' ')]) assert.ok(words.has(w), `"${w}" not in the corpus`)
  }
  assert.deepEqual([...tasks].sort(), ['color', 'count', 'multiple_choice', 'relation'])
  assert.equal(makeSpatialSample(3, 0, 32, {tasks: ['count']}).task, 'count')
})

test('on AWS Batch a run records whether its config trains externally, which picks the external image', async () => {
  const kind = {
    name: 'both',
    summary: '',
    schema: {} as any,
    train: async () => {},
    external: (c: Record<string, unknown>) => (c.external ? {argv: ['python3', 'train.py'], cwd: '/w', env: {}} : undefined),
  }
  const backends = {local: new LocalBackend(), 'aws-batch': new BatchBackend()}
  const target = (backend: 'local' | 'aws-batch') => ({profile: {name: 'p'}, runs: {store: {url: 'file:///s'}}, backend: backends[backend]}) as any
  const job = (config: Record<string, unknown>, k: object = kind) => ({kind: k, plugin: {name: 'x'}, config, retries: {attempts: 1, evaluate_on_exit: []}, source: {overrides: []}}) as any
  assert.equal(requestOptions(newRunRecord(job({external: true}), target('aws-batch'))).externalTrainer, true)
  assert.equal(requestOptions(newRunRecord(job({}), target('aws-batch'))).externalTrainer, undefined)
  assert.equal(requestOptions(newRunRecord(job({}, {...kind, train: undefined, external: () => ({argv: ['x'], cwd: '/', env: {}})}), target('aws-batch'))).externalTrainer, true)
  assert.equal(newRunRecord(job({external: true}), target('local')).backend.request, undefined)
})
