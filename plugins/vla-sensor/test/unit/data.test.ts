import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {trainer} from '@rfm/plugin-kit/testing'
import {api, smallConfig, vla} from '../plugin'

const {Rng, selectBackend} = trainer

const FULL = {seed: 3, sessions: 36, sensorEvery: 18, stepsPerSession: 12, views: 2, imageSize: 16, sensorT: 650, sensorC: 1026}

test('generated sessions: 1 sensor session per 17 without; sensor windows are 650 × 1026, absent (mask 0) elsewhere', () => {
  const data = vla.sessions.generatedDataset(Rng, {...FULL, sessions: 72}, 0.2)
  const sessions = new Map<number, boolean>(data.samples.map((s: any) => [s.session, s.hasSensor]))
  const withSensor = [...sessions.values()].filter(Boolean).length
  assert.equal(withSensor, 4)
  assert.equal((sessions.size - withSensor) / withSensor, 17)
  const i = data.samples.findIndex((s: any) => s.hasSensor && s.step === 10)
  const window: Float32Array = data.sensor(i)!
  assert.equal(window.length, 650 * 1026)
  assert.equal(vla.synthetic.SENSOR_T * vla.synthetic.SENSOR_C, 650 * 1026)
  assert.ok(window.every(Number.isFinite))
  assert.equal(data.sensor(data.samples.findIndex((s: any) => !s.hasSensor)), undefined)
  assert.equal(data.samples[i].actions.length, 8 * 7)
  // validation holds out sessions of both kinds
  assert.ok([...data.valSessions].some((s) => sessions.get(s)) && [...data.valSessions].some((s) => !sessions.get(s)))
})

test('contact and depth are visible only in the sensor: the cameras do not change with them, the actions and windows do', () => {
  const o = {...FULL, sensorT: 65, sensorC: 129}
  const a = vla.synthetic.sessionSpec(Rng, o, 17)
  const b = {...a, surface: a.surface + 0.2, depth: a.depth * 0.5}
  let actionsDiffer = 0
  for (let t = 0; t < 16; t++) {
    for (let v = 0; v < 2; v++) assert.deepEqual(vla.synthetic.renderView(a, t, v, 24), vla.synthetic.renderView(b, t, v, 24), `view ${v} at step ${t}`)
    if (vla.synthetic.actionChunk(a, t).some((x: number, k: number) => x !== vla.synthetic.actionChunk(b, t)[k])) actionsDiffer += 1
  }
  assert.ok(actionsDiffer >= 4, `only ${actionsDiffer} steps' actions depend on contact/depth`)
  const wa = vla.synthetic.sensorWindow(Rng, o, a, 8)
  const wb = vla.synthetic.sensorWindow(Rng, o, b, 8)
  assert.ok(
    wa.some((x: number, k: number) => Math.abs(x - wb[k]) > 0.1),
    'the A-scan moves with the surface',
  )
})

test('mixed batches: zero windows and mask 0 without a sensor; a batch with no sensor sample at all runs, and the mask hides the window', async () => {
  const data = vla.sessions.generatedDataset(Rng, FULL, 0)
  const sensorIdx = data.samples.findIndex((s: any) => s.hasSensor && s.step === 9)
  const plain = data.samples
    .map((s: any, i: number) => (s.hasSensor ? -1 : i))
    .filter((i: number) => i >= 0)
    .slice(0, 3)
  const mixed = vla.sessions.sensorBatch(data, [plain[0], sensorIdx, plain[1]], true)
  const size = 650 * 1026
  assert.deepEqual([...mixed.mask], [0, 1, 0])
  assert.equal(mixed.count, 1)
  assert.ok(mixed.windows.subarray(0, size).every((x: number) => x === 0) && mixed.windows.subarray(2 * size).every((x: number) => x === 0))
  assert.deepEqual(mixed.windows.subarray(size, 2 * size), data.sensor(sensorIdx))
  const none = vla.sessions.sensorBatch(data, plain, true)
  assert.deepEqual([...none.mask], [0, 0, 0])
  assert.equal(none.count, 0)
  // the sensor disabled: every mask is 0 even for sensor samples
  assert.deepEqual([...vla.sessions.sensorBatch(data, [sensorIdx], false).mask], [0])

  // the full-size window through the model (default strides 5·5·2 → 13 temporal tokens)
  const backend = await selectBackend('wasm')
  const tf = backend.tf
  const config = {
    views: 2,
    featureDim: 8,
    width: 16,
    vlDepth: 1,
    heads: 2,
    sensorEnabled: true,
    sensorT: 650,
    sensorC: 1026,
    sensorChannels: 8,
    sensorOutputDim: 16,
    sensorStrides: [5, 5, 2] as [number, number, number],
    fusion: 'concat',
    hidden: 16,
    horizon: 8,
    actionDim: 7,
  }
  for (const fusion of ['concat', 'cross_attention', 'gated', 'none'] as const) {
    const model = new vla.model.VlaModel(await api.loadTrainer(), tf, {...config, fusion}, new Rng(1))
    try {
      const vl = tf.tensor(
        Float32Array.from({length: 3 * 3 * 8}, (_, k) => Math.sin(k)),
        [3, 3, 8],
      )
      const run = (windows: Float32Array, mask: Float32Array) =>
        tf.tidy(() => Array.from(model.forward(vl, tf.tensor(windows, [3, 650, 1026]), tf.tensor(mask, [3]), false).dataSync() as Float32Array))
      const out = run(mixed.windows, mixed.mask)
      assert.equal(out.length, 3 * 8 * 7)
      assert.ok(out.every(Number.isFinite), fusion)
      // a batch with no sensor sample: whatever the window holds, mask 0 gives the same actions
      const noise = Float32Array.from({length: 3 * size}, (_, k) => ((k * 7919) % 101) / 101)
      assert.deepEqual(run(noise, none.mask), run(none.windows, none.mask), `${fusion}: masked windows leak`)
      assert.notDeepEqual(run(noise, mixed.mask), run(mixed.windows, mixed.mask), `${fusion}: the sensor sample's window is used`)
      vl.dispose()
    } finally {
      model.dispose()
    }
  }
})

test('balanced sampler: each sensor sample weighs round(without ÷ with); the epoch ratio is what that predicts', () => {
  const data = vla.sessions.generatedDataset(Rng, {...FULL, sessions: 72, sensorT: 10, sensorC: 4}, 0.2)
  const train = data.samples.map((_: unknown, i: number) => i).filter((i: number) => !data.valSessions.has(data.samples[i].session))
  const withSensor = train.filter((i: number) => data.samples[i].hasSensor).length
  const without = train.length - withSensor
  const random = vla.task.samplerIndices(data, train, 'random')
  assert.equal(random.indices.length, train.length)
  const balanced = vla.task.samplerIndices(data, train, 'balanced')
  const weight = Math.round(without / withSensor)
  assert.equal(balanced.weight, weight)
  const ratio = balanced.indices.filter((i: number) => data.samples[i].hasSensor).length / balanced.indices.length
  assert.equal(ratio, (weight * withSensor) / (weight * withSensor + without))
  assert.ok(ratio > 0.45 && ratio < 0.55 && withSensor / train.length < 0.1)
})

test('a sessions directory (npy actions, PNG views, per-step sensor .npy) reads back what the generator wrote; the VL cache round-trips', async () => {
  const formats = await api.loadFormats()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-vla-sessions-'))
  try {
    const o = {...FULL, sessions: 6, sensorEvery: 3, stepsPerSession: 5, imageSize: 12, sensorT: 20, sensorC: 9}
    const gen = vla.sessions.generatedDataset(Rng, o, 0)
    const written = vla.write.writeSessions(formats, gen, path.join(dir, 'sessions'))
    assert.deepEqual(written, {sessions: 6, sensorSessions: 2, samples: 30})
    const read = await vla.sessions.directoryDataset(formats, path.join(dir, 'sessions'), 0, {t: 20, c: 9})
    assert.equal(read.samples.length, 30)
    gen.samples.forEach((s: any, i: number) => {
      const r = read.samples[i]
      assert.equal(r.hasSensor, s.hasSensor)
      assert.equal(r.instruction, s.instruction)
      assert.deepEqual(r.actions, s.actions)
      if (s.hasSensor) assert.deepEqual(read.sensor(i), gen.sensor(i))
      else assert.equal(read.sensor(i), undefined)
      // PNG holds 8 bits per channel
      const [a, b] = [gen.images(i)[1].data, read.images(i)[1].data]
      assert.ok(a.every((x: number, k: number) => Math.abs(x - b[k]) <= 0.5 / 255 + 1e-6))
    })
    // the VL cache: written once, read back only for the same data and encoder
    const spec = {kind: 'random-features-v1' as const, seed: 1, featureDim: 8, grid: 4}
    const features = vla.cache.buildFeatures(Rng, read, spec)
    vla.cache.writeCache(formats, path.join(dir, 'cache'), read, spec, features)
    assert.deepEqual(vla.cache.readCache(formats, path.join(dir, 'cache'), read, spec), features)
    assert.throws(() => vla.cache.readCache(formats, path.join(dir, 'cache'), read, {...spec, featureDim: 16}), /built for other data or another encoder/)
    // a wrong window shape names the file
    writeFileSync(path.join(dir, 'sessions', 'session-0002', 'sensor', '000001.npy'), formats.encodeNpy({dtype: 'f4', shape: [19, 9], data: new Float32Array(19 * 9)}))
    const broken = await vla.sessions.directoryDataset(formats, path.join(dir, 'sessions'), 0, {t: 20, c: 9})
    assert.throws(
      () => broken.sensor(broken.samples.findIndex((s: any) => s.id === 'session-0002/1')),
      (e: Error) => /000001\.npy.*\[19,9\].*\[20, 9\]/.test(e.message),
    )
    rmSync(path.join(dir, 'sessions', 'session-0001', 'actions.npy'))
    await assert.rejects(vla.sessions.directoryDataset(formats, path.join(dir, 'sessions'), 0, {t: 20, c: 9}), /session-0001.*actions\.npy/)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

test('config: fusion none needs sensor_output_dim = width; finetune_vl picks the trainable parameters and the four learning rates', async () => {
  const schema = vla.config.vlaConfigSchema(api.z, api.trainerConfig)
  assert.throws(() => vla.config.checkVlaConfig(api, schema.parse({...smallConfig({sensor_enabled: true, fusion_strategy: 'none', sensor_output_dim: 16})})), /sensor_output_dim/)
  const trainer = await api.loadTrainer()
  const backend = await selectBackend('wasm')
  const names = (over: Record<string, unknown>) => {
    const c = schema.parse(smallConfig({sensor_enabled: true, ...over, builtin: {model: {width: 32, vl_depth: 2, heads: 2, hidden: 64, sensor_channels: 16}}}))
    const lora = c.finetune_vl === 'lora' ? {rank: c.lora_r, alpha: c.lora_alpha, dropout: c.lora_dropout} : undefined
    const model = new vla.model.VlaModel(trainer, backend.tf, vla.train.modelConfigOf(c, 2), new Rng(1), lora)
    const keys = vla.train.trainerKeys(trainer, c, 10)
    const out = trainer.trainableNames(model, keys)
    model.dispose()
    return {out, keys}
  }
  const none = names({finetune_vl: 'none'}).out
  assert.ok(none.length > 0 && none.every((n: string) => /^(sensor|fusion|action)\./.test(n)))
  const lora = names({finetune_vl: 'lora'}).out
  assert.ok(lora.some((n: string) => n.endsWith('.lora_A')) && !lora.some((n: string) => /^vl\.blocks\.\d+\.attn\.q\.weight$/.test(n)))
  const full = names({finetune_vl: 'full', unfreeze_last_n: 1})
  assert.ok(full.out.includes('vl.blocks.1.attn.q.weight') && !full.out.includes('vl.blocks.0.attn.q.weight') && full.out.includes('vision.adapter.weight'))
  assert.deepEqual(
    full.keys.param_groups.map((g: any) => [g.name, g.lr]),
    [
      ['sensor', 3e-3],
      ['vl', 1e-3],
      ['vision', 1e-3],
    ],
  )
  assert.equal(full.keys.scheduler.kind, 'warmup_hold_cosine')
})
