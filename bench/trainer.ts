/**
 * `npm run bench -- trainer [--backend wasm|cpu|tensorflow] [--steps N] [--no-torch] [--profile [--attention batched|per_head]]`
 * On wasm with the native kernels (src/trainer/native-kernels.ts) it also measures, in a child process
 * with RFM_NATIVE=off, one worker on tfjs-wasm's own kernels: the figure before the native kernels.
 * Reference model: a 4-layer, width-256, 4-head pre-norm transformer LM (QuickGELU MLP ×4, vocab 256)
 * on 128-token sequences, batch 16. Prints steps/s, achieved training FLOP/s ÷ the same backend's best
 * matmul FLOP/s (squares and the model's own shapes), and — where python3 has torch — steps/s ÷ PyTorch on the same architecture and batch,
 * measured in this run.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import type * as tfTypes from '@tensorflow/tfjs-core'

import {describeBackend, Rng, selectBackend, trainableNames, Trainer, Vlm} from '../src/trainer'
import {BackendPreference, SelectedBackend} from '../src/trainer/backend'
import {ReplicaFactory, resolveWorkers} from '../src/trainer/parallel/replica'
import {trainerSchema} from '../src/trainer/config'
import {tokenCrossEntropy, TrainingTask} from '../src/trainer/task'
import {median, ratioLine} from './_stats'

const REF = {layers: 4, width: 256, heads: 4, seq: 128, batch: 16, vocab: 256, mlpRatio: 4}
/** [m, k, n] of the matmul references: squares, and the bench model's linear layers over its 2048 tokens */
const MATMUL_SHAPES = [
  [256, 256, 256],
  [512, 512, 512],
  [1024, 1024, 1024],
  [2048, 256, 256],
  [2048, 256, 1024],
  [2048, 1024, 256],
]

/** Matmul FLOPs of one training step (forward ×3: forward, input grads, weight grads), attention included. */
export function trainingFlops(r = REF): number {
  const tokens = r.batch * r.seq
  const perLayer = 2 * 4 * r.width * r.width + 2 * 2 * r.width * r.mlpRatio * r.width + 2 * 2 * r.seq * r.width
  return 3 * tokens * (r.layers * perLayer + 2 * r.width * r.vocab)
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

/** Random next-token data: throughput does not depend on content. */
class SyntheticLm implements TrainingTask {
  readonly trainSize = REF.batch * 1000
  constructor(private readonly tf: typeof tfTypes) {}

  loss(model: Vlm, indices: number[]): tfTypes.Scalar {
    const tf = this.tf
    const rng = new Rng(indices[0])
    const seq = Int32Array.from({length: indices.length * (REF.seq + 1)}, () => rng.int(REF.vocab))
    const all = tf.tensor2d(seq, [indices.length, REF.seq + 1], 'int32')
    const tokens = tf.slice(all, [0, 0], [-1, REF.seq])
    const targets = tf.slice(all, [0, 1], [-1, REF.seq])
    const out = model.forward({tokens}, true)
    return tokenCrossEntropy(tf, out.logits!, targets, tf.ones(targets.shape, 'float32'))
  }
}

const modelConfig = () => ({vocabSize: REF.vocab, width: REF.width, depth: REF.layers, heads: REF.heads, mlpRatio: REF.mlpRatio, contextLength: REF.seq, dropout: 0, outputs: ['lm' as const]})

/** The worker threads' copy of the bench model and task (trainer.workers > 1). */
export const syntheticReplica: ReplicaFactory = (_args, {backend}) => {
  const model = new Vlm(backend.tf, modelConfig(), new Rng(0))
  return {model, task: new SyntheticLm(backend.tf)}
}

/** Median steps/s of the reference model with this many worker threads (2 warm-up steps). */
async function stepsPerSecondWith(backend: SelectedBackend, workers: number, steps: number, attention: 'batched' | 'per_head'): Promise<{stepsPerSecond: number; params: number}> {
  const tf = backend.tf
  const trainer = trainerSchema.parse({backend: backend.name, workers, attention, batch_size: REF.batch, max_steps: 1_000_000, lr: 1e-3, tensorboard: false})
  const model = new Vlm(tf, modelConfig(), new Rng(0))
  const ctx = {
    runId: 'bench',
    attempt: 1,
    config: {},
    workDir: os.tmpdir(),
    stopRequested: () => false,
    logMetrics: () => undefined,
    log: () => undefined,
    checkpoints: {save: async () => undefined, loadLatest: async () => undefined},
  }
  const replica = {module: __filename, export: 'syntheticReplica', args: {}}
  const loop = new Trainer(ctx, {backend, model, task: new SyntheticLm(tf), trainer, replica})
  const step = () => (workers > 1 ? loop.trainStepParallel() : Promise.resolve(loop.trainStep()))
  try {
    for (let i = 0; i < 2; i++) await step()
    const times: number[] = []
    for (let i = 0; i < steps; i++) {
      const t0 = process.hrtime.bigint()
      await step()
      times.push(Number(process.hrtime.bigint() - t0) / 1e9)
    }
    return {stepsPerSecond: 1 / median(times), params: model.store.count(trainableNames(model, trainer))}
  } finally {
    loop.dispose()
    model.dispose()
  }
}

/**
 * tfjs's profiler over one training step (after a warm-up step): kernel calls and kernel time by
 * kernel name, biggest first. `--profile` prints it instead of the throughput figures.
 */
async function profileStep(backend: SelectedBackend, attention: 'batched' | 'per_head'): Promise<void> {
  const tf = backend.tf
  const trainer = trainerSchema.parse({backend: backend.name, attention, batch_size: REF.batch, max_steps: 1_000_000, lr: 1e-3, tensorboard: false})
  const model = new Vlm(tf, modelConfig(), new Rng(0))
  console.log(`attention products: ${attention}`)
  const ctx = {
    runId: 'bench',
    attempt: 1,
    config: {},
    workDir: os.tmpdir(),
    stopRequested: () => false,
    logMetrics: () => undefined,
    log: () => undefined,
    checkpoints: {save: async () => undefined, loadLatest: async () => undefined},
  }
  const loop = new Trainer(ctx, {backend, model, task: new SyntheticLm(tf), trainer})
  loop.trainStep()
  const info = await tf.profile(() => {
    loop.trainStep()
  })
  const byName = new Map<string, {calls: number; ms: number}>()
  for (const k of info.kernels) {
    const e = byName.get(k.name) ?? {calls: 0, ms: 0}
    e.calls += 1
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0
    byName.set(k.name, e)
  }
  const total = [...byName.values()].reduce((a, e) => a + e.ms, 0)
  console.log(`one training step: ${info.kernels.length} kernel calls, ${total.toFixed(0)} ms in kernels, ${info.newTensors} tensors left, peak ${(info.peakBytes / 2 ** 20).toFixed(0)} MiB`)
  for (const [name, e] of [...byName].sort((a, b) => b[1].ms - a[1].ms))
    console.log(`  ${name.padEnd(22)} ${String(e.calls).padStart(5)} calls  ${e.ms.toFixed(0).padStart(6)} ms  ${((100 * e.ms) / total).toFixed(1).padStart(5)} %`)
  // where the time of the biggest kernels goes, by input shapes
  const top = [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, 4)
  for (const [name] of top) {
    const byShape = new Map<string, {calls: number; ms: number}>()
    for (const k of info.kernels.filter((k) => k.name === name)) {
      const key = k.inputShapes.map((s) => `[${s}]`).join(name.includes('MatMul') ? '×' : ', ')
      const e = byShape.get(key) ?? {calls: 0, ms: 0}
      e.calls += 1
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0
      byShape.set(key, e)
    }
    console.log(`${name} by input shapes:`)
    for (const [key, e] of [...byShape].sort((a, b) => b[1].ms - a[1].ms).slice(0, 8)) console.log(`  ${key.padEnd(40)} ${String(e.calls).padStart(4)} calls  ${e.ms.toFixed(0).padStart(6)} ms`)
  }
  loop.dispose()
  model.dispose()
}

/** One worker with RFM_NATIVE=off, in a child process (the kernels are chosen once per process). */
function tfjsOnly(steps: number): {stepsPerSecond: number; peak: number} | string {
  const run = spawnSync(process.execPath, [path.join(__dirname, 'run.js'), 'trainer', '--backend', 'wasm', '--steps', String(steps), '--one-worker-json'], {
    encoding: 'utf8',
    env: {...process.env, RFM_NATIVE: 'off'},
  })
  const last = (run.stdout ?? '').trim().split('\n').pop() ?? ''
  if (run.status !== 0 || !last.startsWith('{')) return `exit ${run.status}: ${(run.stderr ?? '').trim().split('\n').pop()}`
  return JSON.parse(last) as {stepsPerSecond: number; peak: number}
}

/** FLOP/s of a product of these shapes (median of 5 after a warm-up). */
function matmulFlops(tf: typeof tfTypes, aShape = [1024, 1024], bShape = [1024, 1024]): number {
  const a = tf.randomNormal(aShape)
  const b = tf.randomNormal(bShape)
  const flops = 2 * aShape.slice(0, -1).reduce((x, y) => x * y, 1) * aShape[aShape.length - 1] * bShape[bShape.length - 1]
  const run = () =>
    tf.tidy(() => {
      tf.matMul(a, b).dataSync()
    })
  run()
  const times: number[] = []
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint()
    run()
    times.push(Number(process.hrtime.bigint() - t0) / 1e9)
  }
  a.dispose()
  b.dispose()
  return flops / median(times)
}

const TORCH = String.raw`
import json, math, sys, time, torch
import torch.nn as nn, torch.nn.functional as F
threads = int(sys.argv[1]); steps = int(sys.argv[2])
torch.set_num_threads(threads); torch.manual_seed(0)
if steps == 0:  # the matmul references instead: the best FLOP/s over these [m, k, n]
    best = 0.0
    for m, k, n in json.loads(sys.argv[3]):
        a, b = torch.randn(m, k), torch.randn(k, n); a @ b
        ts = []
        for _ in range(5):
            t0 = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t0)
        best = max(best, 2 * m * k * n / sorted(ts)[2])
    print(json.dumps({"matmul_flops": best})); sys.exit(0)
L, D, H, T, B, V = ${REF.layers}, ${REF.width}, ${REF.heads}, ${REF.seq}, ${REF.batch}, ${REF.vocab}
class Block(nn.Module):
    def __init__(s):
        super().__init__()
        s.ln1, s.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        s.q, s.k, s.v, s.o = (nn.Linear(D, D) for _ in range(4))
        s.fc1, s.fc2 = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)
    def forward(s, x, mask):
        h = s.ln1(x)
        sp = lambda y: y.view(B, T, H, D // H).transpose(1, 2)
        q, k, v = sp(s.q(h)) / math.sqrt(D // H), sp(s.k(h)), sp(s.v(h))
        a = torch.softmax(q @ k.transpose(-1, -2) + mask, -1) @ v
        x = x + s.o(a.transpose(1, 2).reshape(B, T, D))
        h = s.fc1(s.ln2(x))
        return x + s.fc2(h * torch.sigmoid(1.702 * h))
class LM(nn.Module):
    def __init__(s):
        super().__init__()
        s.emb, s.pos = nn.Embedding(V, D), nn.Parameter(torch.randn(T, D) * 0.02)
        s.blocks = nn.ModuleList(Block() for _ in range(L))
        s.ln, s.head = nn.LayerNorm(D), nn.Linear(D, V, bias=False)
    def forward(s, t, mask):
        x = s.emb(t) + s.pos
        for b in s.blocks: x = b(x, mask)
        return s.head(s.ln(x))
m = LM(); opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01)
mask = torch.triu(torch.full((T, T), -1e9), 1)
def step():
    seq = torch.randint(0, V, (B, T + 1))
    loss = F.cross_entropy(m(seq[:, :-1], mask).reshape(-1, V), seq[:, 1:].reshape(-1))
    opt.zero_grad(); loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step()
for _ in range(2): step()
times = []
for _ in range(steps):
    t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
times.sort()
print(json.dumps({"steps_per_s": 1 / times[len(times) // 2], "threads": torch.get_num_threads(), "version": torch.__version__}))
`

/**
 * Debian's torch runs its GEMMs in OpenBLAS (pthread build), whose own pool defaults to every core
 * whatever torch.set_num_threads says; torch's OpenMP threads calling into it oversubscribe the cores
 * (measured idle: 2 torch threads × 2 OpenBLAS threads ran 3-6× slower than 1 × 1). Each
 * configuration is a child process with its thread counts in the environment, so both pools obey.
 */
interface TorchConfig {
  threads: number
  blasThreads: number
}

function torchRun(config: TorchConfig, steps: number, extra: string[] = []): Record<string, number | string> | string {
  // Debian's python3-torch lives under /usr/bin/python3, which may not be the python3 on PATH
  const python = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import torch'], {stdio: 'ignore'}).status === 0)
  if (!python) return 'no python3 with torch (Debian: python3-torch libopenblas0-pthread)'
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-bench-'))
  writeFileSync(path.join(dir, 'torch_lm.py'), TORCH)
  const blas = String(config.blasThreads)
  const env = {...process.env, OMP_NUM_THREADS: String(config.threads), OPENBLAS_NUM_THREADS: blas, MKL_NUM_THREADS: blas}
  const run = spawnSync(python, [path.join(dir, 'torch_lm.py'), String(config.threads), String(steps), ...extra], {encoding: 'utf8', env})
  if (run.status !== 0) return `torch run failed: ${run.stderr.trim().split('\n').pop()}`
  return JSON.parse(run.stdout.trim().split('\n').pop()!)
}

export default async function main(args: string[]): Promise<void> {
  const steps = Number(arg(args, '--steps') ?? 8)
  const backend = await selectBackend((arg(args, '--backend') ?? 'auto') as BackendPreference)
  const tf = backend.tf
  console.log(`trainer bench: ${REF.layers}-layer width-${REF.width} LM, ${REF.seq}-token sequences, batch ${REF.batch}; backend ${describeBackend(backend)}; ${os.cpus().length} CPU cores`)
  console.log('GPU: none available in this environment; the tensorflow (tfjs-node-gpu) backend was not measured')

  if (args.includes('--profile')) return profileStep(backend, (arg(args, '--attention') ?? 'per_head') as 'batched' | 'per_head')
  if (args.includes('--one-worker-json')) {
    // the child of tfjsOnly(): one figure and its own matmul peak, as data
    const r = await stepsPerSecondWith(backend, 1, steps, 'per_head')
    const peak = Math.max(...MATMUL_SHAPES.map(([m, k, n]) => matmulFlops(tf, [m, k], [k, n])))
    return void console.log(JSON.stringify({stepsPerSecond: r.stepsPerSecond, peak, backend: describeBackend(backend)}))
  }
  const auto = resolveWorkers('auto')
  const line = (label: string, r: {stepsPerSecond: number}) => console.log(`steps/s, ${label}: ${r.stepsPerSecond.toFixed(3)}   (median of ${steps}; ${(1000 / r.stepsPerSecond).toFixed(0)} ms/step)`)
  // trainer.attention: per_head is the default, batched the numerics of runs started before it
  const batched = await stepsPerSecondWith(backend, 1, steps, 'batched')
  console.log(`parameters: ${(batched.params / 1e6).toFixed(2)} M; training FLOPs per step (matmuls): ${(trainingFlops() / 1e9).toFixed(1)} G`)
  line('1 worker, attention batched', batched)
  const single = await stepsPerSecondWith(backend, 1, steps, 'per_head')
  line('1 worker, attention per_head (default)', single)
  console.log(ratioLine('steps/s attention per_head ÷ batched (1 worker)', single.stepsPerSecond / batched.stepsPerSecond))
  const parallel = auto > 1 ? await stepsPerSecondWith(backend, auto, steps, 'per_head') : single
  if (auto > 1) line(`${auto} workers (auto), attention per_head`, parallel)
  console.log(ratioLine(`steps/s ${auto} workers ÷ 1 worker (per_head)`, parallel.stepsPerSecond / single.stepsPerSecond))
  const stepsPerSecond = single.stepsPerSecond
  const achieved = trainingFlops() * stepsPerSecond
  // the ceiling: the best of a few plain rank-2 products on this backend, the model's own shapes included
  const references = MATMUL_SHAPES.map(([m, k, n]) => ({shape: `${m}×${k}×${n}`, flops: matmulFlops(tf, [m, k], [k, n])}))
  const peak = Math.max(...references.map((r) => r.flops))
  const provider = backend.matmul ? ` (products: ${backend.matmul.split(' ')[0]})` : ''
  console.log(`matmul FLOP/s on ${backend.name}${provider}, one thread (m×k×n): ${references.map((r) => `${r.shape} ${(r.flops / 1e9).toFixed(1)} G`).join(', ')}`)
  console.log(`achieved training FLOP/s (1 worker, per_head): ${(achieved / 1e9).toFixed(1)} G; best matmul above: ${(peak / 1e9).toFixed(1)} G`)
  console.log(ratioLine('achieved training FLOP/s ÷ best matmul FLOP/s (1 worker, one thread each)', achieved / peak, '≥ 0.6'))
  // attention's products are batched matmuls: tfjs-wasm runs them outside XNNPACK, the native kernels one sgemm per head
  const heads = REF.batch * REF.heads
  const dh = REF.width / REF.heads
  const batchedFlops = matmulFlops(tf, [heads, REF.seq, dh], [heads, dh, REF.seq])
  const attentionShare = (3 * REF.batch * REF.seq * REF.layers * 2 * 2 * REF.seq * REF.width) / trainingFlops()
  console.log(`attention products: ${(100 * attentionShare).toFixed(0)} % of the FLOPs, as batched matmuls at ${(batchedFlops / 1e9).toFixed(1)} GFLOP/s`)
  console.log(ratioLine('batched (attention) matmul FLOP/s ÷ best matmul FLOP/s', batchedFlops / peak))
  const plain = backend.matmul?.startsWith('OpenBLAS') ? tfjsOnly(steps) : undefined
  if (typeof plain === 'string') console.log(`tfjs-wasm kernels only (RFM_NATIVE=off): not measured (${plain})`)
  else if (plain) {
    line('1 worker, per_head, tfjs-wasm kernels only (RFM_NATIVE=off)', plain)
    console.log(`best matmul FLOP/s there (XNNPACK): ${(plain.peak / 1e9).toFixed(1)} G; achieved ÷ best: ${((trainingFlops() * plain.stepsPerSecond) / plain.peak).toFixed(2)}×`)
    console.log(ratioLine('steps/s 1 worker: native kernels ÷ tfjs-wasm kernels only', single.stepsPerSecond / plain.stepsPerSecond))
  }

  if (args.includes('--no-torch')) return
  const configs: TorchConfig[] = []
  for (const threads of [...new Set([1, auto])]) for (const blasThreads of [...new Set([1, auto])]) configs.push({threads, blasThreads})
  let best: {steps_per_s: number; label: string} | undefined
  for (const config of configs) {
    const torch = torchRun(config, Math.max(4, steps))
    if (typeof torch === 'string') {
      console.log(`PyTorch comparison skipped: ${torch}`)
      return
    }
    const label = `PyTorch ${config.threads} thread${config.threads === 1 ? '' : 's'} + OpenBLAS ${config.blasThreads}`
    const sps = torch.steps_per_s as number
    console.log(`${label} (torch ${torch.version}): ${sps.toFixed(3)} steps/s (${((sps * trainingFlops()) / 1e9).toFixed(0)} GFLOP/s)`)
    if (!best || sps > best.steps_per_s) best = {steps_per_s: sps, label}
  }
  console.log(`reference: PyTorch's best configuration here is ${best!.label} (${best!.steps_per_s.toFixed(3)} steps/s)`)
  console.log(ratioLine(`rfm steps/s 1 worker (batched) ÷ PyTorch best`, batched.stepsPerSecond / best!.steps_per_s))
  console.log(ratioLine(`rfm steps/s 1 worker (per_head) ÷ PyTorch best`, single.stepsPerSecond / best!.steps_per_s))
  console.log(ratioLine(`rfm steps/s ${auto} workers (auto, per_head) ÷ PyTorch best`, parallel.stepsPerSecond / best!.steps_per_s, '≥ 0.35'))
  // the bound: every FLOP of the step at the best matmul rate, on every worker, with no other cost
  const ceiling = (peak * auto) / trainingFlops()
  console.log(`ceiling: ${ceiling.toFixed(3)} steps/s (${auto} × best matmul FLOP/s ÷ FLOPs per step: matmuls only, perfect scaling)`)
  console.log(ratioLine(`ceiling ÷ PyTorch best`, ceiling / best!.steps_per_s))
  // the kernel ceiling: PyTorch's GEMMs use AVX2/AVX-512 FMA, tfjs-wasm 128-bit wasm SIMD (rfm's native products: the same OpenBLAS)
  const torchMatmul = torchRun({threads: 1, blasThreads: 1}, 0, [JSON.stringify(MATMUL_SHAPES)])
  if (typeof torchMatmul !== 'string') {
    const tm = torchMatmul.matmul_flops as number
    console.log(`best matmul FLOP/s, one thread: PyTorch (OpenBLAS) ${(tm / 1e9).toFixed(1)} G, ${backend.name} ${(peak / 1e9).toFixed(1)} G`)
    console.log(ratioLine(`${backend.name} ÷ PyTorch best matmul FLOP/s per thread`, peak / tm))
  }
}
