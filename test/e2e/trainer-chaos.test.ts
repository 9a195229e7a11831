import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {DirCheckpoints} from '../helpers/dir-checkpoints'

const SCRIPT = path.join(__dirname, '..', 'helpers', 'train-process.js')

/** LM with LoRA and a frozen vision tower, grad accumulation 2, cosine schedule. */
const CONFIG = {
  trainer: {
    backend: 'wasm',
    seed: 21,
    max_steps: 120,
    batch_size: 4,
    grad_accum: 2,
    lr: 2e-3,
    freeze_vision_tower: true,
    lora: {rank: 4, alpha: 8, dropout: 0.1, target_modules: ['q', 'k', 'v', 'o']},
    scheduler: {kind: 'cosine', warmup_ratio: 0.1},
    save_steps: 10,
    eval_steps: 40,
    tensorboard: false,
  },
  model: {width: 32, depth: 2, heads: 2, context_length: 8, vision: {image_size: 8, patch_size: 4, width: 32, depth: 1, heads: 2}},
  task: {train_size: 48, eval_size: 8},
}

function lines(file: string): number {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0
}

/** Runs one attempt; `kill` (if given) is sent once the metrics file has grown by `after` lines. */
function attempt(dir: string, kill?: {signal: NodeJS.Signals; after: number}): Promise<number | NodeJS.Signals> {
  const metrics = path.join(dir, 'metrics.jsonl')
  const start = lines(metrics)
  const child = spawn(process.execPath, [SCRIPT, path.join(dir, 'config.json'), path.join(dir, 'ckpt'), metrics], {stdio: ['ignore', 'ignore', 'inherit']})
  let poll: NodeJS.Timeout | undefined
  if (kill) {
    poll = setInterval(() => {
      if (lines(metrics) - start >= kill.after) {
        clearInterval(poll)
        child.kill(kill.signal)
      }
    }, 20)
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      if (poll) clearInterval(poll)
      resolve(signal ?? code ?? -1)
    })
  })
}

function setup(config: typeof CONFIG = CONFIG): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-chaos-'))
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config))
  return dir
}

async function finalFiles(dir: string, steps = 120) {
  const latest = (await new DirCheckpoints(path.join(dir, 'ckpt')).loadLatest())!
  assert.equal(latest.step, steps)
  return latest.files
}

test('real processes killed with SIGTERM and SIGKILL, 10 times, end bitwise equal to an uninterrupted run', async () => {
  const reference = setup()
  assert.equal(await attempt(reference), 0)
  const expected = await finalFiles(reference)

  const dir = setup()
  // mixed signals at varying points; SIGKILL loses the steps since the last save_steps checkpoint
  const plan: {signal: NodeJS.Signals; after: number}[] = [
    {signal: 'SIGTERM', after: 7},
    {signal: 'SIGKILL', after: 14},
    {signal: 'SIGTERM', after: 3},
    {signal: 'SIGKILL', after: 17},
    {signal: 'SIGTERM', after: 12},
    {signal: 'SIGKILL', after: 5},
    {signal: 'SIGTERM', after: 9},
    {signal: 'SIGKILL', after: 16},
    {signal: 'SIGTERM', after: 4},
    {signal: 'SIGKILL', after: 11},
  ]
  const outcomes: (number | NodeJS.Signals)[] = []
  for (const kill of plan) {
    outcomes.push(await attempt(dir, kill))
    if (outcomes.at(-1) === 0) break
  }
  // SIGTERM → checkpoint and exit 75 (or 0 if it was the last step); SIGKILL → killed
  plan
    .slice(0, outcomes.length)
    .forEach((kill, i) => assert.ok(kill.signal === 'SIGTERM' ? [75, 0].includes(outcomes[i] as number) : ['SIGKILL', 0].includes(outcomes[i]), `attempt ${i + 1}: ${outcomes[i]}`))
  let retries = 0
  while (outcomes.at(-1) !== 0 && retries++ < 5) outcomes.push(await attempt(dir))
  assert.equal(outcomes.at(-1), 0, `finished: ${outcomes.join(', ')}`)
  if (process.env.RFM_TEST_VERBOSE) console.log('attempts:', outcomes.join(', '), 'checkpoints:', new DirCheckpoints(path.join(dir, 'ckpt')).steps().join(' '))
  assert.ok(outcomes.length >= 8, `most attempts were interrupted: ${outcomes.join(', ')}`)

  const got = await finalFiles(dir)
  for (const name of Object.keys(expected)) assert.ok(Buffer.from(got[name]).equals(Buffer.from(expected[name])), `${name} is bitwise equal`)
  // every logged step's loss matches the uninterrupted run's (steps re-run after a SIGKILL log the same values)
  const curve = (d: string) =>
    readFileSync(path.join(d, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((m) => 'loss' in m)
  const ref = new Map(curve(reference).map((m) => [m.step, m.loss]))
  for (const m of curve(dir)) assert.equal(m.loss, ref.get(m.step), `loss at step ${m.step}`)
})

test('with 2 worker threads: SIGTERM and SIGKILL, 4 times, end bitwise equal to an uninterrupted 2-worker run', async () => {
  const config = {...CONFIG, trainer: {...CONFIG.trainer, workers: 2, max_steps: 40}} as unknown as typeof CONFIG
  const reference = setup(config)
  assert.equal(await attempt(reference), 0)
  const expected = await finalFiles(reference, 40)
  const dir = setup(config)
  const plan: {signal: NodeJS.Signals; after: number}[] = [
    {signal: 'SIGKILL', after: 13},
    {signal: 'SIGTERM', after: 6},
    {signal: 'SIGKILL', after: 8},
    {signal: 'SIGTERM', after: 4},
  ]
  const outcomes: (number | NodeJS.Signals)[] = []
  for (const kill of plan) {
    outcomes.push(await attempt(dir, kill))
    if (outcomes.at(-1) === 0) break
  }
  let retries = 0
  while (outcomes.at(-1) !== 0 && retries++ < 5) outcomes.push(await attempt(dir))
  assert.equal(outcomes.at(-1), 0, `finished: ${outcomes.join(', ')}`)
  assert.ok(outcomes.length >= 4, `most attempts were interrupted: ${outcomes.join(', ')}`)
  const got = await finalFiles(dir, 40)
  for (const name of Object.keys(expected)) assert.ok(Buffer.from(got[name]).equals(Buffer.from(expected[name])), `${name} is bitwise equal`)
  const curve = (d: string) =>
    readFileSync(path.join(d, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((m) => 'loss' in m)
  const ref = new Map(curve(reference).map((m) => [m.step, m.loss]))
  for (const m of curve(dir)) assert.equal(m.loss, ref.get(m.step), `loss at step ${m.step}`)
})
