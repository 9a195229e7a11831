/**
 * Checkpoint protocol costs, measured in one run on this machine's disk (file store):
 *  1. save+commit (files, sha256, manifest last) ÷ a raw write of the same bytes to the same store;
 *  2. runtime start → first step after resuming from a 100 MB checkpoint, ÷ the same start with none;
 *  0. a multi-GB file on the file store and on s3rver (./_checkpoint-large.ts);
 *  3. goodput (useful steps ÷ executed steps) of chaos runs with SIGTERM and with SIGKILL.
 */
import {execFileSync, spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import {CheckpointStore} from '../src/checkpoint/store'
import {FileStore} from '../src/store/file-store'
import {largeCheckpoint} from './_checkpoint-large'
import {median, ratioLine, timeMs} from './_stats'

const ROOT = path.resolve(__dirname, '..', '..')
const TRAINER = path.join(ROOT, 'test', 'fixtures', 'counting-trainer.js')
const BIN = path.join(ROOT, 'bin', 'run.js')
const MB = 1024 * 1024

export default async function checkpoint(): Promise<void> {
  await largeCheckpoint()
  await commitOverhead()
  await restartToFirstStep()
  goodput()
}

async function commitOverhead(): Promise<void> {
  const store = new FileStore(mkdtempSync(path.join(os.tmpdir(), 'rfm-bench-ckpt-')))
  // A checkpoint shaped like a small model's: one large weights file, optimizer state, small JSON.
  const files: Array<[string, Buffer]> = [
    ['model.safetensors', Buffer.alloc(64 * MB, 1)],
    ['optimizer.safetensors', Buffer.alloc(32 * MB, 2)],
    ['trainer_state.json', Buffer.from(JSON.stringify({step: 1}))],
  ]
  const bytes = files.reduce((sum, [, d]) => sum + d.length, 0)
  const checkpoints = new CheckpointStore(store, 'bench-20260101-000000-0000')
  // Interleaved rounds on fresh keys, each cleaned up after, so both see the same disk state.
  const raws: number[] = []
  const commits: number[] = []
  for (let round = 1; round <= 6; round++) {
    raws.push(
      await timeMs(async () => {
        for (const [name, data] of files) await store.put(`raw-${round}/${name}`, data)
      }),
    )
    commits.push(await timeMs(() => checkpoints.commit(round, files)))
    for (const object of (await store.list(`raw-${round}/`)).objects) await store.delete(object.key)
    await checkpoints.delete(round)
  }
  const raw = median(raws.slice(1))
  const commit = median(commits.slice(1))
  console.log(`checkpoint of ${(bytes / MB).toFixed(0)} MB: raw write ${raw.toFixed(0)} ms, save+commit ${commit.toFixed(0)} ms`)
  console.log(ratioLine('save+commit ÷ raw write of the same bytes', commit / raw, '≤ 1.5×'))
  rmSync(store.root, {recursive: true, force: true})
}

/** Launches the runtime for a run whose newest checkpoint has `ckptBytes`, until the first new step. */
async function timeToFirstStep(ckptBytes: number): Promise<number> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'rfm-bench-home-'))
  const work = mkdtempSync(path.join(os.tmpdir(), 'rfm-bench-work-'))
  const config = path.join(work, 'job.yaml')
  writeFileSync(
    config,
    [
      `command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(TRAINER)}, --output_dir, out, --max_steps, "2", --save_steps, "1"]`,
      `env: {STEP_MS: 1, CKPT_BYTES: ${ckptBytes}}`,
      'checkpoints: {dir: out, resume_args: [--resume_from_checkpoint, "True"]}',
    ].join('\n'),
  )
  const env = {...process.env, RFM_HOME: home}
  const launched = JSON.parse(execFileSync(process.execPath, [BIN, 'cloud', 'launch', 'command', '-c', config, '--dry-run', '--json'], {env, encoding: 'utf8'})) as {run: {id: string}}
  // Record the run as launch would, with one committed checkpoint (step 1) when asked for.
  const store = new FileStore(path.join(home, 'store'))
  const run = {...launched.run, state: 'running'}
  await store.put(`runs/${run.id}/run.json`, JSON.stringify(run))
  if (ckptBytes > 0) {
    const weights = Buffer.alloc(ckptBytes, 7)
    const w = 'bench-weights'.padEnd(64, '0')
    weights.write(w, 0)
    await new CheckpointStore(store, run.id).commit(1, [
      ['weights.bin', weights],
      ['state.json', Buffer.from(JSON.stringify({step: 1, w}))],
      ['trainer_state.json', Buffer.from('{}')],
    ])
  }
  const start = process.hrtime.bigint()
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'src', 'runtime', 'main.js')], {
    env: {...env, RFM_STORE: store.url, RFM_RUN_ID: run.id, RFM_ATTEMPT: '2'},
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const ms = await new Promise<number>((resolve) => {
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (/resumed at step|done at step/.test(out)) resolve(Number(process.hrtime.bigint() - start) / 1e6)
    })
  })
  await new Promise((resolve) => child.once('close', resolve))
  rmSync(home, {recursive: true, force: true})
  rmSync(work, {recursive: true, force: true})
  return ms
}

async function restartToFirstStep(): Promise<void> {
  const fresh: number[] = []
  const resumed: number[] = []
  for (let i = 0; i < 3; i++) {
    fresh.push(await timeToFirstStep(0))
    resumed.push(await timeToFirstStep(100 * MB))
  }
  const f = median(fresh)
  const r = median(resumed)
  console.log(`runtime start → trainer running: fresh ${f.toFixed(0)} ms, resuming a 100 MB checkpoint ${r.toFixed(0)} ms (verify + restore ${(r - f).toFixed(0)} ms)`)
  console.log(ratioLine('start with 100 MB resume ÷ start with none', r / f))
}

function goodput(): void {
  for (const signal of ['TERM', 'KILL']) {
    const home = mkdtempSync(path.join(os.tmpdir(), 'rfm-bench-home-'))
    const work = mkdtempSync(path.join(os.tmpdir(), 'rfm-bench-work-'))
    const stepLog = path.join(work, 'steps.log')
    const steps = 150
    writeFileSync(
      path.join(work, 'job.yaml'),
      [
        `command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(TRAINER)}, --output_dir, out, --max_steps, "${steps}", --save_steps, "10"]`,
        `env: {STEP_MS: 30, STEP_LOG: ${JSON.stringify(stepLog)}}`,
        'checkpoints: {dir: out, resume_args: [--resume_from_checkpoint, "True"], save_total_limit: 2}',
      ].join('\n'),
    )
    execFileSync(process.execPath, [BIN, 'cloud', 'launch', 'command', '-c', path.join(work, 'job.yaml'), '--chaos', `kills=10,seed=4,signal=${signal},min=0.5,max=1`, '--follow', '--json'], {
      env: {...process.env, RFM_HOME: home},
      stdio: 'ignore',
    })
    const executed = readFileSync(stepLog, 'utf8').trim().split('\n').length
    console.log(ratioLine(`goodput, chaos kills=10 signal=${signal} (${steps} useful ÷ ${executed} executed steps)`, steps / executed, signal === 'TERM' ? '1.00' : undefined))
    rmSync(home, {recursive: true, force: true})
    rmSync(work, {recursive: true, force: true})
  }
}
