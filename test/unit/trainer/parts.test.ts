import assert from 'node:assert/strict'
import {test} from 'node:test'

import {BpeTokenizer, Rng, sampleToken, selectBackend, tokenizerFromJSON, Vlm, WordTokenizer} from '../../../src/trainer'
import {AdamW} from '../../../src/trainer/adamw'
import {lrFactor, ScheduleConfig} from '../../../src/trainer/schedule'
import {matchesPattern, ParamStore} from '../../../src/trainer/params'
import {vqaCorpus} from '../../../src/trainer/tasks/shapes-vqa'
import {VqaTask} from '../../../src/trainer/tasks/vqa-task'

test('the RNG is deterministic, resumable from its saved state, and never Math.random', () => {
  const a = new Rng(123)
  const head = Array.from({length: 5}, () => a.nextUint32())
  assert.deepEqual(
    head,
    Array.from(
      {length: 5},
      (
        (r) => () =>
          r.nextUint32()
      )(new Rng(123)),
    ),
  )
  const saved = a.state()
  const next = Array.from({length: 10}, () => a.next())
  const restored = new Rng(saved)
  assert.deepEqual(
    Array.from({length: 10}, () => restored.next()),
    next,
  )
  assert.notDeepEqual(
    Array.from({length: 5}, () => new Rng(124).nextUint32()),
    head,
  )
  const normals = Array.from({length: 20000}, () => a.normal())
  const mean = normals.reduce((s, x) => s + x, 0) / normals.length
  const variance = normals.reduce((s, x) => s + (x - mean) ** 2, 0) / normals.length
  assert.ok(Math.abs(mean) < 0.05 && Math.abs(variance - 1) < 0.05, `normal moments ${mean} ${variance}`)
  const order = new Rng(9).shuffle(Array.from({length: 50}, (_, i) => i))
  assert.deepEqual(
    [...order].sort((x, y) => x - y),
    Array.from({length: 50}, (_, i) => i),
  )
})

const base: ScheduleConfig = {kind: 'cosine', minLrRatio: 0.1, per: 'step', rewarmSteps: 0}

test('schedules: warmup, cosine to min_lr, hold, per-epoch stepping, re-warm after resume', () => {
  const total = 100
  const cos = (s: number, c: Partial<ScheduleConfig> = {}) => lrFactor({...base, ...c}, s, total, 10)
  // warmup_ratio 0.1 → 10 linear warmup steps
  assert.equal(cos(0, {warmupRatio: 0.1}), 0.1)
  assert.equal(cos(9, {warmupRatio: 0.1}), 1)
  assert.ok(Math.abs(cos(55, {warmupRatio: 0.1}) - (0.1 + 0.9 * 0.5)) < 1e-12, 'halfway through the decay is the midpoint')
  assert.ok(Math.abs(cos(100, {warmupRatio: 0.1}) - 0.1) < 1e-12, 'ends at min_lr')
  // warmup_steps wins over warmup_ratio
  assert.equal(cos(4, {warmupRatio: 0.5, warmupSteps: 5}), 1)
  // constant
  assert.equal(lrFactor({...base, kind: 'constant'}, 77, total, 10), 1)
  // warmup → hold → cosine
  const hold = (s: number) => lrFactor({...base, kind: 'warmup_hold_cosine', warmupSteps: 10, holdRatio: 0.3}, s, total, 10)
  assert.equal(hold(10), 1)
  assert.equal(hold(39), 1)
  assert.ok(hold(41) < 1 && hold(41) > hold(60))
  // per epoch: constant inside an epoch
  const perEpoch = (s: number) => lrFactor({...base, per: 'epoch'}, s, total, 10)
  assert.equal(perEpoch(20), perEpoch(29))
  assert.ok(perEpoch(30) < perEpoch(29))
  // monotone decay after warmup
  for (let s = 11; s < 100; s++) assert.ok(cos(s, {warmupRatio: 0.1}) <= cos(s - 1, {warmupRatio: 0.1}) + 1e-15)
  // re-warm: ramps back up over rewarm steps after the last resume point, untouched before it
  const rewarm = (s: number) => lrFactor({...base, rewarmSteps: 4}, s, total, 10, {resumedAt: [50]})
  assert.equal(rewarm(49), cos(49))
  assert.equal(rewarm(50), cos(50) * 0.25)
  assert.equal(rewarm(53), cos(53))
})

test('name patterns: prefixes, exact names and globs', () => {
  assert.ok(matchesPattern('vision.blocks.0.attn.q.weight', 'vision'))
  assert.ok(!matchesPattern('visionary.w', 'vision'))
  assert.ok(matchesPattern('text.blocks.3.mlp.fc1.bias', 'text.blocks.*.mlp.*'))
  assert.ok(matchesPattern('heads.lm.weight', 'heads.lm.weight'))
})

test('tokenizers: word-level and byte-level BPE are deterministic, round-trip, and serialise', () => {
  const corpus = ['the red square is left', 'the blue square is right', 'where is the red square ?']
  const word = WordTokenizer.fit(corpus)
  assert.deepEqual(word.decode(word.encode('the red square ?')).split(' '), ['the', 'red', 'square', '?'])
  assert.equal(word.encode('purple')[0], 3, 'unknown words map to <unk>')
  const bpe = BpeTokenizer.fit(corpus, 300)
  assert.deepEqual(BpeTokenizer.fit(corpus, 300).merges, bpe.merges, 'same corpus, same merges')
  assert.ok(bpe.vocabSize > 260 && bpe.vocabSize <= 300)
  for (const text of [...corpus, 'ünïcödé text never seen', '  spaces  ']) assert.equal(bpe.decode(bpe.encode(text)), text)
  assert.ok(bpe.encode(' square').length < Buffer.byteLength(' square'), 'frequent words are merged')
  for (const t of [word, bpe]) {
    const back = tokenizerFromJSON(JSON.parse(JSON.stringify(t.toJSON())))
    assert.deepEqual(back.encode('the red square ?'), t.encode('the red square ?'))
  }
})

test('sampling: greedy is argmax; top-p keeps only the nucleus; temperature sampling is seeded', () => {
  const logits = Float32Array.from([0, 5, 1, 4.9])
  assert.equal(sampleToken(logits, {maxNewTokens: 1, temperature: 0, topP: 1}), 1)
  const rng = new Rng(3)
  const seen = new Set<number>()
  for (let i = 0; i < 200; i++) seen.add(sampleToken(logits, {maxNewTokens: 1, temperature: 1, topP: 0.9, rng}))
  assert.deepEqual([...seen].sort(), [1, 3], 'tokens outside the top-p mass are never drawn')
  const draw = (seed: number) =>
    Array.from(
      {length: 20},
      (
        (r) => () =>
          sampleToken(logits, {maxNewTokens: 1, temperature: 2, topP: 1, rng: r})
      )(new Rng(seed)),
    )
  assert.deepEqual(draw(4), draw(4))
})

test('AdamW matches a float64 reference of PyTorch’s update (decoupled decay, bias correction)', async () => {
  const {tf} = await selectBackend('cpu')
  const store = new ParamStore(tf, new Rng(1))
  store.add('w', [2, 3], {kind: 'normal', std: 1})
  store.add('b', [3], {kind: 'normal', std: 1})
  const cfg = {beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1}
  const opt = new AdamW(store, ['w', 'b'], cfg)
  const ref = new Map(['w', 'b'].map((n) => [n, {p: Array.from(store.get(n).dataSync()), m: [0, 0, 0, 0, 0, 0].slice(0, store.get(n).size), v: new Array(store.get(n).size).fill(0)}]))
  for (let step = 1; step <= 5; step++) {
    const grads = new Map(
      ['w', 'b'].map((n) => [
        n,
        tf.tensor(
          Array.from({length: store.get(n).size}, (_, i) => Math.sin(step * 3 + i)),
          store.get(n).shape,
        ),
      ]),
    )
    const lr = 0.01 * step
    opt.apply(grads, () => lr)
    for (const [n, r] of ref) {
      const g = grads.get(n)!.dataSync()
      const decay = n === 'w' ? cfg.weightDecay : 0
      for (let i = 0; i < r.p.length; i++) {
        r.p[i] *= 1 - lr * decay
        r.m[i] = cfg.beta1 * r.m[i] + (1 - cfg.beta1) * g[i]
        r.v[i] = cfg.beta2 * r.v[i] + (1 - cfg.beta2) * g[i] ** 2
        const mHat = r.m[i] / (1 - cfg.beta1 ** step)
        const vHat = r.v[i] / (1 - cfg.beta2 ** step)
        r.p[i] -= (lr * mHat) / (Math.sqrt(vHat) + cfg.eps)
      }
    }
  }
  for (const [n, r] of ref) {
    const got = store.get(n).dataSync()
    r.p.forEach((x, i) => assert.ok(Math.abs(got[i] - x) < 1e-5, `${n}[${i}] ${got[i]} vs ${x}`))
  }
  assert.equal(opt.step, 5)
  const state = opt.stateTensors()
  assert.deepEqual(Object.keys(state).sort(), ['m.b', 'm.w', 'v.b', 'v.w'])
})

test('gradients of the whole model (vision, LoRA, attention, LM loss) match finite differences', async () => {
  const {tf} = await selectBackend('cpu')
  const tok = WordTokenizer.fit(vqaCorpus())
  const model = new Vlm(
    tf,
    {
      vocabSize: tok.vocabSize,
      width: 16,
      depth: 1,
      heads: 2,
      mlpRatio: 2,
      contextLength: 8,
      dropout: 0,
      outputs: ['lm'],
      vision: {imageSize: 8, channels: 3, patchSize: 4, width: 16, depth: 1, heads: 2},
    },
    new Rng(1),
    {rank: 2, alpha: 4, dropout: 0, targetModules: ['q', 'v'], modulesToSave: []},
  )
  // non-zero B so the A matrices receive gradient
  for (const n of model.store.names()) if (n.endsWith('lora_B')) model.store.get(n).assign(tf.randomNormal(model.store.get(n).shape, 0, 0.5, 'float32', 2))
  const task = new VqaTask(tok, model, {seed: 1, trainSize: 16, evalSize: 4})
  const indices = [0, 1, 2, 3]
  const names = model.store.names()
  const vars = names.map((n) => model.store.get(n))
  const lossAt = () => tf.tidy(() => task.loss(model, indices, new Rng(1)).dataSync()[0])
  const {grads} = tf.variableGrads(() => task.loss(model, indices, new Rng(1)), vars)
  const eps = 3e-3
  for (const name of names) {
    const v = model.store.get(name)
    const analytic = grads[v.name].dataSync()
    const values = v.dataSync().slice()
    let err = 0
    let scale = 1e-3
    for (let k = 0; k < Math.min(3, values.length); k++) {
      const j = (k * 7919) % values.length
      const probe = values.slice()
      probe[j] = values[j] + eps
      v.assign(tf.tensor(probe, v.shape))
      const up = lossAt()
      probe[j] = values[j] - eps
      v.assign(tf.tensor(probe, v.shape))
      const down = lossAt()
      v.assign(tf.tensor(values, v.shape))
      const numeric = (up - down) / (2 * eps)
      err = Math.max(err, Math.abs(numeric - analytic[j]))
      scale = Math.max(scale, Math.abs(numeric))
    }
    assert.ok(err / scale < 0.1, `${name}: finite-difference mismatch ${err} (scale ${scale})`)
  }
  model.dispose()
})

test('backend selection: auto falls back tensorflow → wasm → cpu; an unavailable explicit choice is an error', async () => {
  let hasTfNode = false
  for (const name of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require.resolve(name)
      hasTfNode = true
    } catch {
      // not installed: the expected case on machines without libtensorflow
    }
  }
  const auto = await selectBackend('auto')
  assert.equal(auto.name, hasTfNode ? 'tensorflow' : 'wasm')
  if (!hasTfNode) await assert.rejects(selectBackend('tensorflow'), /needs @tensorflow\/tfjs-node-gpu or @tensorflow\/tfjs-node/)
  const [a, b] = await Promise.all([selectBackend('cpu'), selectBackend('wasm')])
  assert.deepEqual([a.name, b.name], ['cpu', 'wasm'], 'concurrent selections are serialised')
  assert.equal(b.tf.getBackend(), 'wasm')
})
