/**
 * rfm never deletes a user's checkpoints (issue 20, item 3): those already in output_dir when a run
 * first starts are adopted (committed, then resumed from); `resume_from_checkpoint: PATH` is
 * honoured; on a restart, local checkpoints the store does not hold are moved aside, not deleted.
 */
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {CheckpointStore} from '../../src/checkpoint/store'
import {CheckpointSync, type ExternalCheckpointSpec} from '../../src/checkpoint/sync'
import {FileStore} from '../../src/store/file-store'
import {rfmJson, tempHome} from '../helpers/cli'

function hfCheckpoint(dir: string, step: number, complete = true): void {
  mkdirSync(path.join(dir, `checkpoint-${step}`), {recursive: true})
  writeFileSync(path.join(dir, `checkpoint-${step}`, 'model.safetensors'), `weights of step ${step}`)
  if (complete) writeFileSync(path.join(dir, `checkpoint-${step}`, 'trainer_state.json'), JSON.stringify({global_step: step, log_history: [{loss: 1 / step}]}))
}

function fixture(layout: 'hf' | 'file' = 'hf') {
  const root = mkdtempSync(path.join(os.tmpdir(), 'rfm-adopt-'))
  const dir = path.join(root, 'out')
  mkdirSync(dir)
  const checkpoints = new CheckpointStore(new FileStore(path.join(root, 'store')), 'command-20261204-000000-abcd')
  const spec: ExternalCheckpointSpec = {
    dir,
    layout,
    file: layout === 'file' ? 'model.pt' : undefined,
    completeMarker: 'trainer_state.json',
    resumeArgs: ['--resume_from_checkpoint', 'True'],
    retention: {},
  }
  const sync = (attempt: number) => new CheckpointSync(spec, checkpoints, attempt, () => {})
  return {dir, checkpoints, sync}
}

test('first start: complete checkpoints on disk are adopted (committed, resumed from) and kept; an incomplete one is left as it is', async () => {
  const {dir, checkpoints, sync} = fixture()
  hfCheckpoint(dir, 500)
  hfCheckpoint(dir, 1000)
  hfCheckpoint(dir, 1500, false)
  const s = sync(1)
  assert.equal(await s.restore(), 1000)
  assert.equal(s.adopted, true)
  assert.deepEqual(
    (await checkpoints.list()).map((c) => c.step),
    [500, 1000],
  )
  assert.deepEqual(readdirSync(dir).sort(), ['checkpoint-1000', 'checkpoint-1500', 'checkpoint-500'])
  assert.equal(readFileSync(path.join(dir, 'checkpoint-1000', 'model.safetensors'), 'utf8'), 'weights of step 1000')
  assert.ok(!existsSync(path.join(dir, 'checkpoint-1500', 'trainer_state.json')))
})

test('restart: the newest committed checkpoint is restored; local ones the store does not hold are moved aside, never deleted', async () => {
  const {dir, checkpoints, sync} = fixture()
  hfCheckpoint(dir, 2)
  await sync(1).restore()
  hfCheckpoint(dir, 4) // written after the last upload, then the machine went away
  hfCheckpoint(dir, 6, false) // cut short mid-save
  const s = sync(2)
  assert.equal(await s.restore(), 2)
  assert.equal(s.adopted, false)
  assert.deepEqual(readdirSync(dir).sort(), ['.rfm-set-aside', 'checkpoint-2'])
  assert.deepEqual(readdirSync(path.join(dir, '.rfm-set-aside')).sort(), ['checkpoint-4.attempt-2', 'checkpoint-6.attempt-2'])
  assert.equal(readFileSync(path.join(dir, '.rfm-set-aside', 'checkpoint-4.attempt-2', 'model.safetensors'), 'utf8'), 'weights of step 4')
  assert.deepEqual(
    (await checkpoints.list()).map((c) => c.step),
    [2],
  )
})

test('file layout: a checkpoint file on disk at the first start is adopted, not deleted', async () => {
  const {dir, checkpoints, sync} = fixture('file')
  writeFileSync(path.join(dir, 'model.pt'), 'epoch 7')
  assert.equal(await sync(1).restore(), 1)
  assert.equal(readFileSync(path.join(dir, 'model.pt'), 'utf8'), 'epoch 7')
  assert.equal((await checkpoints.latest())?.files.get('model.pt')?.toString(), 'epoch 7')
})

// A stand-in for train_vqa_sft.py: records its argv and what it found in output_dir, saves one more checkpoint.
const SCRIPT = `const fs = require('fs'), path = require('path')
const args = process.argv.slice(2)
const out = args[args.indexOf('--output_dir') + 1]
fs.writeFileSync('seen.json', JSON.stringify({args, found: fs.readdirSync(out).sort()}))
const dir = path.join(out, 'checkpoint-2000'); fs.mkdirSync(dir, {recursive: true})
fs.writeFileSync(path.join(dir, 'model.safetensors'), 'weights of step 2000')
fs.writeFileSync(path.join(dir, 'trainer_state.json'), '{"global_step": 2000}')
`

test("sft external: resume_from_checkpoint PATH in output_dir is honoured, every existing checkpoint survives and becomes the run's", async () => {
  const home = tempHome()
  const work = mkdtempSync(path.join(os.tmpdir(), 'rfm-adopt-sft-'))
  writeFileSync(path.join(work, 'train.js'), SCRIPT)
  hfCheckpoint(path.join(work, 'outputs'), 500)
  hfCheckpoint(path.join(work, 'outputs'), 1000)
  writeFileSync(
    path.join(work, 'job.yaml'),
    `output_dir: outputs\nresume_from_checkpoint: outputs/checkpoint-500\ntrainer_mode: external\ntrainer: {external: {command: [${JSON.stringify(process.execPath)}, train.js], workdir: .}}\n`,
  )
  const {code, json, stderr} = await rfmJson(['cloud', 'launch', 'sft', '-c', path.join(work, 'job.yaml'), '--follow'], {home, timeoutMs: 60_000})
  assert.equal(code, 0, stderr + JSON.stringify(json))
  const seen = JSON.parse(readFileSync(path.join(work, 'seen.json'), 'utf8')) as {args: string[]; found: string[]}
  assert.deepEqual(seen.found, ['checkpoint-1000', 'checkpoint-500'])
  assert.deepEqual(
    seen.args.filter((a, i) => seen.args[i - 1] === '--resume_from_checkpoint'),
    ['outputs/checkpoint-500'],
    "the user's checkpoint, once",
  )
  assert.equal(readFileSync(path.join(work, 'outputs', 'checkpoint-500', 'model.safetensors'), 'utf8'), 'weights of step 500')
  const list = await rfmJson(['ckpt', 'ls', json.run.id], {home})
  assert.deepEqual(
    (list.json.checkpoints as {step: number}[]).map((c) => c.step).sort((a, b) => a - b),
    [500, 1000, 2000],
  )
})
