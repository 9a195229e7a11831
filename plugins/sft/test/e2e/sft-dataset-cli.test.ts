/**
 * `rfm sft trajectories generate` and `rfm sft dataset generate` through the real CLI: .npz files
 * end to end, shards, --json schema, flag errors, and a generation killed with SIGKILL.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {formats, BIN, rfm, rfmJson, tempHome, waitFor, assertSchema} from '@rfm/plugin-kit/testing'
import {sft} from '../dataset-plugin'

const home = tempHome()
const tmp = (prefix: string) => mkdtempSync(path.join(os.tmpdir(), `rfm-sft-cli-${prefix}-`))
const arrowFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.arrow'))
    .sort()

test('trajectories → .npz → VQA dataset through the CLI equals generating from synthetic:<name> directly', async () => {
  const dir = tmp('e2e')
  const trajectories = await rfmJson(['sft', 'trajectories', 'generate', '--count', '24', '--name', 'e2e', '--output', path.join(dir, 'traj'), '--compress'], {home})
  assert.equal(trajectories.code, 0, trajectories.stderr)
  assertSchema('sft-trajectories-generate', trajectories.json)
  assert.equal(readdirSync(path.join(dir, 'traj')).filter((f) => f.endsWith('.npz')).length, 24)
  const first = await formats.readNpz(path.join(dir, 'traj', 'traj_00000.npz'))
  assert.deepEqual(first.frames.shape.slice(1), [32, 32, 3])
  assert.equal(first.frames.dtype, 'u1')

  const common = ['--num-epochs', '2.5', '--save-batch-size', '16', '--eval-mode', '--seed', '7', '--set', 'data.sample_type_ratio=[1,1,1]', 'data.max_frames=6']
  // worker threads for the .npz run, this thread for the synthetic one: the rows must not differ
  const fromNpz = await rfmJson(
    ['sft', 'dataset', 'generate', ...common, '--num-workers', '3', '--batch-size', '8', '--output', path.join(dir, 'vqa-npz'), '--set', `data.train_datasets=[${path.join(dir, 'traj')}]`],
    {home},
  )
  assert.equal(fromNpz.code, 0, fromNpz.stderr)
  assertSchema('sft-dataset-generate', fromNpz.json)
  assert.equal(fromNpz.json.num_samples, 60)
  assert.equal(fromNpz.json.num_workers, 3)
  assert.equal(fromNpz.json.dataset_size, 24)
  assert.equal(fromNpz.json.shards, Math.ceil(60 / 16))
  assert.equal(arrowFiles(path.join(dir, 'vqa-npz')).length, Math.ceil(60 / 16))
  const synthetic = ['sft', 'dataset', 'generate', ...common, '--num-workers', '0', '--output', path.join(dir, 'vqa-syn'), '--set', 'data.train_datasets=[synthetic:e2e:24]']
  const fromSynthetic = await rfmJson(synthetic, {home})
  assert.equal(fromSynthetic.code, 0, fromSynthetic.stderr)
  const again = await rfm(synthetic, {home})
  assert.equal(again.code, 2)
  assert.match(again.stderr, /--output .*vqa-syn already exists/)
  assert.equal((await rfm([...synthetic, '--overwrite'], {home})).code, 0)
  // --overwrite replaces datasets only, never another folder
  const notDataset = await rfm(['sft', 'dataset', 'generate', ...common, '--output', path.join(dir, 'traj'), '--overwrite', '--set', 'data.train_datasets=[synthetic:e2e:24]'], {home})
  assert.equal(notDataset.code, 2)
  assert.match(notDataset.stderr, /is not a saved dataset/)
  assert.equal(readdirSync(path.join(dir, 'traj')).length, 24)

  // the same sources from a --config file, relative to its folder
  writeFileSync(path.join(dir, 'data.yaml'), 'data:\n  train_datasets: [traj]\n  max_frames: 3\n')
  const fromConfig = await rfmJson(['sft', 'dataset', 'generate', ...common, '--config', path.join(dir, 'data.yaml'), '--output', path.join(dir, 'vqa-config')], {home})
  assert.equal(fromConfig.code, 0, fromConfig.stderr)
  assert.deepEqual(fromConfig.json.counts, fromNpz.json.counts)
  assert.equal(fromConfig.json.data.max_frames, 6, '--set wins over the config file')

  // the seed's own command line (underscore flags, --config_overrides with several values)
  const seedStyle = await rfmJson(
    [
      'sft',
      'dataset',
      'generate',
      '--num_epochs',
      '2.5',
      '--output_path',
      path.join(dir, 'vqa-seed'),
      '--eval_mode',
      '--seed',
      '7',
      '--save_batch_size',
      '16',
      '--config_overrides',
      `data.train_datasets=[${path.join(dir, 'traj')}]`,
      'data.sample_type_ratio=[1,1,1]',
      'data.max_frames=6',
    ],
    {home},
  )
  assert.equal(seedStyle.code, 0, seedStyle.stderr)
  assert.deepEqual(seedStyle.json.counts, fromNpz.json.counts)

  const shown = await rfmJson(['sft', 'dataset', 'show', path.join(dir, 'vqa-npz'), '--start', '10', '--limit', '2'], {home})
  assert.equal(shown.code, 0, shown.stderr)
  assertSchema('sft-dataset-show', shown.json)
  assert.deepEqual(shown.json.counts, Object.fromEntries(Object.entries(fromNpz.json.counts as Record<string, number>).filter(([, n]) => n > 0)))
  assert.deepEqual(
    shown.json.samples.map((s: {index: number}) => s.index),
    [10, 11],
  )

  const hf = await formats.readHfDataset(path.join(dir, 'vqa-npz'))
  assert.deepEqual(hf.columns, ['sample_type', 'task', 'question', 'answer', 'frames_a', 'frames_b', 'progress_a', 'progress_b', 'preferred', 'source', 'index'])
  const a = await sft.openVqaDataset(path.join(dir, 'vqa-npz'), formats)
  const b = await sft.openVqaDataset(path.join(dir, 'vqa-syn'), formats)
  assert.equal(a.size, 60)
  for (let i = 0; i < a.size; i++) {
    const x = a.get(i)
    const y = b.get(i)
    assert.match(x.source, /traj_\d+\.npz/)
    assert.deepEqual({...x, source: ''}, {...y, source: ''}, `row ${i}: same sample from the .npz files as from the generator`)
  }
})

test('bad flags and keys exit 2 naming the flag or key; a missing .npz key names file and key', async () => {
  const dir = tmp('flags')
  const cases: [string[], RegExp][] = [
    [['--num-epochs', '0'], /--num-epochs/],
    [['--num-epochs', '1', '--num-workers', '-1'], /--num-workers/],
    [['--num-epochs', '1', '--save-batch-size', 'many'], /--save-batch-size/],
    [['--num-epochs', '1', '--batch-size', '0'], /--batch-size/],
    [['--num-epochs', '1', '--set', 'data.sample_type_ratio=[1,2]'], /data\.sample_type_ratio/],
    [['--num-epochs', '1', '--set', 'data.no_such_key=3'], /data\.no_such_key/],
    [['--num-epochs', '1', '--set', 'data.train_datasets=[./no/such/folder]'], /data\.train_datasets\[0\]/],
  ]
  for (const [args, pattern] of cases) {
    const result = await rfm(['sft', 'dataset', 'generate', '--output', path.join(dir, 'out'), ...args], {home})
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`)
    assert.match(result.stderr, pattern)
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
  }
  for (const [args, flag] of [
    [['--count', '0'], '--count'],
    [['--count', '3', '--image-size', '4'], '--image-size'],
    [['--count', '3', '--name', 'a/b'], '--name'],
  ] as const) {
    const result = await rfm(['sft', 'trajectories', 'generate', '--output', path.join(dir, 'traj'), ...args], {home})
    assert.equal(result.code, 2, result.stderr)
    assert.ok(result.stderr.includes(flag), result.stderr)
  }
  const json = await rfmJson(['sft', 'dataset', 'generate', '--output', path.join(dir, 'out'), '--num-epochs', '-3'], {home})
  assert.equal(json.code, 2)
  assertSchema('error', json.json)

  mkdirSync(path.join(dir, 'npz'))
  await formats.writeNpz(path.join(dir, 'npz', 'broken.npz'), {
    frames: {dtype: 'u1', shape: [2, 4, 4, 3], data: new Uint8Array(96)},
    progress: {dtype: 'f4', shape: [2], data: new Float32Array([0, 1])},
  })
  const missing = await rfm(['sft', 'dataset', 'generate', '--num-epochs', '1', '--output', path.join(dir, 'out'), '--set', `data.train_datasets=[${path.join(dir, 'npz')}]`], {home})
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /broken\.npz: no task array \(key 'task'/)
  assert.equal(existsSync(path.join(dir, 'out')), false)
})

test('a generation killed with SIGKILL leaves nothing at --output; the next run cleans up and completes', async () => {
  const dir = tmp('kill')
  const output = path.join(dir, 'vqa')
  const args = [BIN, 'sft', 'dataset', 'generate', '--num-epochs', '40', '--output', output, '--num-workers', '1', '--save-batch-size', '200', '--set', 'data.train_datasets=[synthetic:kill:500]']
  const child = spawn(process.execPath, args, {env: {...process.env, RFM_HOME: home}, stdio: 'ignore'})
  const exited = new Promise((resolve) => child.once('exit', resolve))
  // wait until rows are being written into the hidden temp folder, then kill
  await waitFor(
    'a shard being written',
    () => {
      const temps = readdirSync(dir).filter((f) => f.startsWith('.vqa.tmp-'))
      return temps.length > 0 && readdirSync(path.join(dir, temps[0]), {recursive: true}).length > 0 ? true : undefined
    },
    60_000,
  )
  child.kill('SIGKILL')
  await exited
  assert.equal(existsSync(output), false, 'no dataset at --output')
  assert.equal(readdirSync(dir).filter((f) => f.startsWith('.vqa.tmp-')).length, 1, 'the killed run left its temp folder')

  const again = await rfmJson(['sft', 'dataset', 'generate', '--num-epochs', '0.1', '--output', output, '--set', 'data.train_datasets=[synthetic:kill:500]'], {home})
  assert.equal(again.code, 0, again.stderr)
  assert.equal(again.json.num_samples, 50)
  assert.deepEqual(readdirSync(dir), ['vqa'], 'the stale temp folder of the dead run is gone')
  assert.ok(JSON.parse(readFileSync(path.join(output, 'state.json'), 'utf8')))
})
