import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {TestRun as RunRecord, trainer, rfm, rfmJson, tempHome, MemoryCheckpoints, trainerContext} from '@rfm/plugin-kit/testing'
import {sft} from '../plugin'

const {decodeSafetensors} = trainer

const home = tempHome()
const MODEL = 'builtin:\n  model: {width: 32, depth: 1, heads: 2, context_length: 24, image_size: 16, patch_size: 8, vision_width: 32}\n'

function metrics(run: string): Record<string, number>[] {
  return readFileSync(path.join(home, 'store', 'runs', run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>)
}

async function launch(dir: string, yaml: string, args: string[] = []): Promise<RunRecord> {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.yaml`)
  writeFileSync(file, yaml)
  const {code, json, stderr} = await rfmJson(['cloud', 'launch', 'sft', '-c', file, '--follow', ...args], {home, timeoutMs: 120_000})
  assert.equal(code, 0, stderr)
  assert.equal((json.run as RunRecord).state, 'succeeded')
  return json.run as RunRecord
}

test('rfm cloud launch sft --stage dpo --sft-checkpoint RUN: DPO from an SFT run, logging rewards/*, the reference kept in its checkpoints', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-sft-dpo-'))
  const data = 'spatial: {train_size: 32, eval_size: 8, seed: 4}\nlearning_rate: 3.0e-3\nper_device_train_batch_size: 8\nlogging_steps: 1\nreport_to: none\n'
  const sftRun = await launch(dir, `${data}lora_rank: 4\nmax_steps: 6\n${MODEL}`)
  // the flags write stage and sft_checkpoint; the config file holds neither
  const dpoRun = await launch(dir, `${data}max_steps: 4\nsave_steps: 2\nbeta: 0.2\n${MODEL}`, ['--stage', 'dpo', '--sft-checkpoint', `${sftRun.id}@final`])
  assert.equal(dpoRun.config.stage, 'dpo')
  assert.equal(dpoRun.config.sft_checkpoint, `${sftRun.id}@final`)
  const rows = metrics(dpoRun.id).filter((m) => 'loss' in m)
  assert.equal(rows.length, 4)
  for (const key of ['rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies'])
    assert.ok(
      rows.every((r) => Number.isFinite(r[key])),
      key,
    )
  // at the first step the policy is the reference: every reward is exactly 0, and the loss log 2
  assert.equal(rows[0]['rewards/margins'], 0)
  assert.ok(Math.abs(rows[0].loss - Math.log(2)) < 1e-6)
  const evals = metrics(dpoRun.id).filter((m) => 'eval_rewards/accuracies' in m)
  assert.ok(evals.length >= 1 && 'eval_accuracy' in evals[0])

  // the reference in the DPO checkpoint is the SFT model with its adapters folded in
  const pull = async (ref: string, flag: string[]) => {
    const to = path.join(dir, ref.replace(/[^a-z0-9]/gi, '_'))
    const r = await rfm(['ckpt', 'pull', ref, to, ...flag], {home})
    assert.equal(r.code, 0, r.stderr)
    return Object.fromEntries(readdirSync(to).map((f) => [f, readFileSync(path.join(to, f))]))
  }
  const sftFinal = await pull(sftRun.id, ['--final'])
  const dpoFinal = await pull(dpoRun.id, ['--final'])
  const merged = decodeSafetensors(sftFinal['merged.safetensors']).tensors
  const reference = decodeSafetensors(dpoFinal['reference.safetensors']).tensors
  assert.deepEqual(Object.keys(reference).sort(), Object.keys(merged).sort())
  for (const [name, t] of Object.entries(merged)) {
    const a = new Float32Array(new Uint8Array(t.bytes).buffer)
    const b = new Float32Array(new Uint8Array(reference[name].bytes).buffer)
    assert.ok(
      a.every((v, i) => Math.abs(v - b[i]) < 1e-6),
      `${name}: reference ≠ merged SFT weights`,
    )
  }

  // a bad reference names the flag's key
  const bad = await rfmJson(['cloud', 'launch', 'sft', '--stage', 'dpo', '--sft-checkpoint', 'sft-20260101-000000-zzzz', '--set', 'spatial.train_size=8', '--follow'], {home, timeoutMs: 60_000})
  assert.notEqual(bad.code, 0)
  const wrong = await rfmJson(['cloud', 'launch', 'sft', '--stage', 'ppo'], {home})
  assert.equal(wrong.code, 2)
  assert.match(wrong.json.error.message, /stage/)
})

test('a DPO run stopped and resumed ends bitwise equal to an uninterrupted one (the reference comes from its own checkpoint)', async () => {
  const base = {
    spatial: {train_size: 32, eval_size: 8, seed: 6},
    learning_rate: 3e-3,
    per_device_train_batch_size: 8,
    logging_steps: 1,
    report_to: 'none',
    builtin: {backend: 'wasm', model: {width: 32, depth: 1, heads: 2, context_length: 24, image_size: 16, patch_size: 8, vision_width: 32}},
  }
  const sftStore = new MemoryCheckpoints()
  await sft.run.trainSft(sft.api, trainerContext({...base, max_steps: 4}, sftStore), sft.parse({...base, max_steps: 4}))
  const dpo = {...base, stage: 'dpo', sft_checkpoint: 'sft-run', lora_rank: 4, max_steps: 7, save_steps: 3, beta: 0.5}
  const withSft = (ctx: ReturnType<typeof trainerContext>, calls: string[]) =>
    Object.assign(ctx, {loadRunCheckpoint: async (ref: string) => (calls.push(ref), {...sftStore.saved.at(-1)!, runId: 'sft-run'})})
  const fullCalls: string[] = []
  const full = new MemoryCheckpoints()
  const reference = await sft.run.trainSft(sft.api, withSft(trainerContext(dpo, full), fullCalls), sft.parse(dpo))
  const store = new MemoryCheckpoints()
  const calls: string[] = []
  const first = await sft.run.trainSft(sft.api, withSft(trainerContext(dpo, store, {stopAfterSteps: 4}), calls), sft.parse(dpo))
  assert.equal(first.finished, false)
  const second = await sft.run.trainSft(sft.api, withSft(trainerContext(dpo, store), calls), sft.parse(dpo))
  assert.equal(second.step, reference.step)
  assert.deepEqual(calls, ['sft-run'], 'the resumed attempt does not read the SFT run again')
  for (const name of ['model.safetensors', 'optimizer.safetensors', 'reference.safetensors']) {
    assert.ok(Buffer.from(full.saved.at(-1)!.files[name]).equals(Buffer.from(store.saved.at(-1)!.files[name])), `${name} differs`)
  }
})

test('DPO separates chosen from rejected answers on its training pairs: rewards/accuracies ≥ 0.95 at the end, margins grow', async (t) => {
  // CPU budget: 8 SFT steps + 80 DPO steps of batch 8 on a width-32 model with 16 px scenes (~10 s wasm, unloaded)
  const base = {
    spatial: {train_size: 16, eval_size: 0, seed: 8, tasks: ['relation', 'color']},
    per_device_train_batch_size: 8,
    gradient_accumulation_steps: 1,
    logging_steps: 1,
    report_to: 'none',
    builtin: {backend: 'wasm', model: {width: 32, depth: 1, heads: 2, context_length: 24, image_size: 16, patch_size: 8, vision_width: 32}},
  }
  const sftStore = new MemoryCheckpoints()
  await sft.run.trainSft(sft.api, trainerContext({...base, learning_rate: 3e-3, max_steps: 8}, sftStore), sft.parse({...base, learning_rate: 3e-3, max_steps: 8}))
  const dpo = {...base, stage: 'dpo', sft_checkpoint: 'sft-run', beta: 0.5, learning_rate: 3e-3, warmup_ratio: 0, lr_scheduler_type: 'constant', max_steps: 80}
  const ctx = Object.assign(trainerContext(dpo, new MemoryCheckpoints()), {loadRunCheckpoint: async () => ({...sftStore.saved.at(-1)!, runId: 'sft-run'})})
  await sft.run.trainSft(sft.api, ctx, sft.parse(dpo))
  const rows = ctx.metrics.filter((m) => 'loss' in m.values).map((m) => m.values)
  const last = rows.slice(-5)
  const mean = (key: string, of: Record<string, number>[]) => of.reduce((a, r) => a + r[key], 0) / of.length
  t.diagnostic(`last 5 steps: rewards/accuracies ${mean('rewards/accuracies', last)}, margins ${mean('rewards/margins', last)}, loss ${mean('loss', last)}`)
  assert.ok(mean('rewards/accuracies', last) >= 0.95, `rewards/accuracies ${mean('rewards/accuracies', last)}`)
  assert.ok(mean('rewards/margins', last) > mean('rewards/margins', rows.slice(0, 5)))
  assert.ok(mean('loss', last) < Math.log(2) / 2)
})

test("rpo_alpha adds the chosen answers' mean token NLL to the DPO loss (at step 1, policy = reference, so DPO alone is log 2)", async () => {
  const base = {
    spatial: {train_size: 16, eval_size: 0, seed: 9},
    learning_rate: 3e-3,
    per_device_train_batch_size: 8,
    logging_steps: 1,
    report_to: 'none',
    builtin: {backend: 'wasm', model: {width: 32, depth: 1, heads: 2, context_length: 24, image_size: 16, patch_size: 8, vision_width: 32}},
  }
  const sftStore = new MemoryCheckpoints()
  await sft.run.trainSft(sft.api, trainerContext({...base, max_steps: 2}, sftStore), sft.parse({...base, max_steps: 2}))
  const firstLoss = async (rpoAlpha: number) => {
    const dpo = {...base, stage: 'dpo', sft_checkpoint: 'sft-run', max_steps: 1, beta: 0.1, rpo_alpha: rpoAlpha}
    const ctx = Object.assign(trainerContext(dpo, new MemoryCheckpoints()), {loadRunCheckpoint: async () => ({...sftStore.saved.at(-1)!, runId: 'sft-run'})})
    await sft.run.trainSft(sft.api, ctx, sft.parse(dpo))
    return ctx.metrics.find((m) => 'loss' in m.values)!.values.loss
  }
  const plain = await firstLoss(0)
  const one = await firstLoss(1)
  const two = await firstLoss(2)
  assert.ok(Math.abs(plain - Math.log(2)) < 1e-6)
  // a 2-step SFT model gives its answers little probability: the NLL term is large, and linear in alpha
  assert.ok(one - plain > 0.5, `NLL term ${one - plain}`)
  assert.ok(Math.abs(two - plain - 2 * (one - plain)) < 1e-4)
})
