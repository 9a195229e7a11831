import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import * as formats from '../../../src/formats'

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'rfm-formats-'))
const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], {stdio: 'ignore'}).status === 0
const python = (code: string, cwd: string) => execFileSync('python3', ['-c', code], {cwd, encoding: 'utf8'})

test('.npz written by numpy (savez, savez_compressed; dtypes, unicode, Fortran order, big-endian) reads back exactly', {skip: !hasNumpy && 'python3 with numpy is not installed'}, async () => {
  const dir = tmp()
  python(
    `import numpy as np
np.savez('plain.npz', frames=np.arange(2*3*4*3, dtype=np.uint8).reshape(2,3,4,3), task=np.array('pick the cup'),
  progress=np.array([0.0, 0.25, 1.0], dtype=np.float32), f=np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2,3)),
  flags=np.array([True, False]), ids=np.array([7, -2**40], dtype=np.int64), be=np.array([1.5, -2], dtype='>f4'), s=np.int32(5))
np.savez_compressed('packed.npz', x=np.linspace(0, 1, 1000, dtype=np.float32), words=np.array(['ab', 'cdé']))`,
    dir,
  )
  const plain = await formats.readNpz(path.join(dir, 'plain.npz'))
  assert.deepEqual(plain.frames.shape, [2, 3, 4, 3])
  assert.equal(plain.frames.dtype, 'u1')
  assert.deepEqual(
    Array.from(plain.frames.data as Uint8Array),
    Array.from({length: 72}, (_, i) => i),
  )
  assert.deepEqual(plain.task, {dtype: 'U', shape: [], data: ['pick the cup']})
  assert.deepEqual(Array.from(formats.toFloat32(plain.progress)), [0, 0.25, 1])
  assert.deepEqual(Array.from(plain.f.data as Float64Array), [0, 1, 2, 3, 4, 5], 'Fortran order comes back in C order')
  assert.deepEqual(Array.from(plain.flags.data as Uint8Array), [1, 0])
  assert.deepEqual(Array.from(plain.ids.data as BigInt64Array), [7n, -(2n ** 40n)])
  assert.deepEqual(Array.from(plain.be.data as Float32Array), [1.5, -2])
  assert.deepEqual(plain.s.shape, [])
  const packed = await formats.readNpz(path.join(dir, 'packed.npz'))
  assert.equal(packed.x.data.length, 1000)
  assert.equal((packed.x.data as Float32Array)[999], 1)
  assert.deepEqual(packed.words.data, ['ab', 'cdé'])
})

test('writeNpz output loads in numpy, compressed or not', {skip: !hasNumpy && 'python3 with numpy is not installed'}, async () => {
  const dir = tmp()
  for (const compress of [false, true]) {
    const file = path.join(dir, `out-${compress}.npz`)
    await formats.writeNpz(
      file,
      {w: {dtype: 'f4', shape: [2, 2], data: new Float32Array([1, 2, 3, 4.5])}, t: {dtype: 'U', shape: [], data: ['héllo']}, n: {dtype: 'i8', shape: [1], data: new BigInt64Array([-3n])}},
      {compress},
    )
    const out = python(`import numpy as np; d = np.load(${JSON.stringify(file)}); print(d['w'].tolist(), str(d['t']), d['n'].tolist(), d['w'].dtype)`, dir)
    assert.equal(out.trim(), '[[1.0, 2.0], [3.0, 4.5]] héllo [-3] float32')
  }
})

test('a damaged .npz or .npy is a FormatError naming the file', async () => {
  const dir = tmp()
  const file = path.join(dir, 'bad.npz')
  await formats.writeNpz(file, {a: {dtype: 'f4', shape: [3], data: new Float32Array([1, 2, 3])}})
  const bytes = readFileSync(file)
  bytes[bytes.indexOf(Buffer.from('a.npy')) + 70] ^= 0xff // flip a data byte inside the stored entry
  writeFileSync(file, bytes)
  await assert.rejects(formats.readNpz(file), (e: formats.FormatError) => e instanceof formats.FormatError && e.message.includes('bad.npz') && /corrupt/.test(e.message) && e.exitCode === 2)
  writeFileSync(file, 'not a zip')
  await assert.rejects(formats.readNpz(file), /not a zip/)
  assert.throws(() => formats.parseNpy(new Uint8Array([1, 2, 3]), 'x.npy'), /x\.npy: not a \.npy file/)
})

test('PNG round trip; JPEG decodes; fitPixels keeps the aspect ratio within the bounds', () => {
  const image = {width: 5, height: 3, data: Uint8Array.from({length: 45}, (_, i) => (i * 37) % 256)}
  assert.deepEqual(formats.decodeImage(formats.encodePng(image)), image)
  const jpeg = require('jpeg-js').encode({width: 8, height: 8, data: Buffer.alloc(8 * 8 * 4, 200)}, 95).data
  const decoded = formats.decodeImage(jpeg)
  assert.equal(decoded.width, 8)
  assert.ok(Math.abs(decoded.data[0] - 200) <= 3)
  assert.throws(() => formats.decodeImage(Buffer.from('GIF89a....'), 'row 3'), /row 3: not a PNG or JPEG/)
  const big = {width: 40, height: 20, data: new Uint8Array(40 * 20 * 3)}
  const small = formats.fitPixels(big, {maxPixels: 200})
  assert.ok(small.width * small.height <= 200 && small.width === 2 * small.height)
  const grown = formats.fitPixels({width: 4, height: 2, data: new Uint8Array(24)}, {minPixels: 32})
  assert.ok(grown.width * grown.height >= 32)
  const flat = formats.resizeImage({width: 2, height: 2, data: new Uint8Array(12).fill(90)}, 7, 5)
  assert.ok(flat.data.every((v) => v === 90))
})

test('HF save_to_disk layout: shards, metadata, Image/List/int64 columns round-trip; a DatasetDict opens by split', async () => {
  const dir = tmp()
  const png = formats.encodePng({width: 2, height: 1, data: new Uint8Array([255, 0, 0, 0, 0, 255])})
  const features: formats.HfFeatures = {
    image: {_type: 'Image'},
    question: {_type: 'Value', dtype: 'string'},
    reference_steps: {_type: 'Sequence', feature: {_type: 'Value', dtype: 'string'}},
    n: {_type: 'Value', dtype: 'int64'},
    score: {_type: 'Value', dtype: 'float32'},
    frames: {_type: 'List', feature: {_type: 'Image'}},
  }
  const rows = Array.from({length: 5}, (_, i) => ({
    image: i % 2 ? png : {bytes: png, path: `img-${i}.png`},
    question: `q${i}`,
    reference_steps: Array.from({length: i}, (_, j) => `s${j}`),
    n: i - 2,
    score: i / 4,
    frames: i === 4 ? [] : [png],
  }))
  const out = path.join(dir, 'ds')
  assert.deepEqual(await formats.writeHfDataset(out, rows, features, {shardRows: 2}), {numRows: 5, shards: 3})
  const state = JSON.parse(readFileSync(path.join(out, 'state.json'), 'utf8'))
  assert.deepEqual(
    state._data_files.map((f: {filename: string}) => f.filename),
    ['data-00000-of-00003.arrow', 'data-00001-of-00003.arrow', 'data-00002-of-00003.arrow'],
  )
  const arrow = require('apache-arrow')
  const table = arrow.tableFromIPC(readFileSync(path.join(out, 'data-00000-of-00003.arrow')))
  assert.deepEqual(JSON.parse(table.schema.metadata.get('huggingface')).info.features, features)
  assert.equal(String(table.schema.fields.find((f: {name: string}) => f.name === 'image').type), 'Struct<{bytes:Binary, path:Utf8}>')
  const ds = await formats.readHfDataset(out)
  assert.equal(ds.numRows, 5)
  const back = []
  for await (const row of ds.rows()) back.push(row)
  assert.deepEqual(
    back.map((r) => r.question),
    ['q0', 'q1', 'q2', 'q3', 'q4'],
  )
  assert.deepEqual(back[3].reference_steps, ['s0', 's1', 's2'])
  assert.equal(back[0].n, -2)
  assert.equal(back[2].score, 0.5)
  assert.deepEqual((back[0].image as {path: string}).path, 'img-0.png')
  assert.deepEqual(Buffer.from((back[1].image as {bytes: Uint8Array}).bytes), Buffer.from(png))
  assert.equal((back[1].image as {path: unknown}).path, null)
  assert.equal((back[0].frames as unknown[]).length, 1)
  assert.deepEqual(back[4].frames, [])

  await formats.writeHfDatasetDict(path.join(dir, 'dict'), {train: rows.slice(0, 3), test: rows.slice(3)}, features)
  assert.equal((await formats.readHfDataset(path.join(dir, 'dict'))).numRows, 3)
  assert.equal((await formats.readHfDataset(path.join(dir, 'dict'), {split: 'test'})).numRows, 2)
  await assert.rejects(formats.readHfDataset(path.join(dir, 'dict'), {split: 'validation'}), /no split "validation"/)
  await assert.rejects(formats.readHfDataset(path.join(dir, 'nothing')), formats.FormatError)
})

test('JSONL: records with line numbers, blank lines skipped, a bad line named', async () => {
  const file = path.join(tmp(), 'data.jsonl')
  writeFileSync(file, '{"a":1}\n\n{"a":2}\n{oops\n')
  const seen: unknown[] = []
  await assert.rejects(
    (async () => {
      for await (const r of formats.readJsonl(file)) seen.push(r)
    })(),
    (e: Error) => e instanceof formats.FormatError && e.message.startsWith(`${file}:4:`),
  )
  assert.deepEqual(seen, [
    {line: 1, record: {a: 1}},
    {line: 3, record: {a: 2}},
  ])
})
