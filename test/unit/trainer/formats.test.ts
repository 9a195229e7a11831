import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {decodeSafetensors, encodeSafetensors, f32Tensor, toFloat32} from '../../../src/trainer/formats/safetensors'
import {TensorBoardWriter} from '../../../src/trainer/formats/tensorboard'

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], {stdio: 'ignore'}).status === 0
const numpySkip = hasNumpy ? false : 'python3 with numpy is not installed (Debian: python3-numpy)'

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'rfm-formats-'))
}

test('safetensors round-trips exact float32 bytes, shapes, dtypes and metadata', () => {
  const weights = Float32Array.from([1.5, -0, Number.MIN_VALUE, 3.4e38, NaN, -2.25])
  const ids = new Int32Array([7, -1, 2 ** 31 - 1])
  const file = encodeSafetensors(
    {'a.weight': f32Tensor([2, 3], weights), 'b.ids': {dtype: 'I32', shape: [3], bytes: new Uint8Array(ids.buffer)}, empty: f32Tensor([0], new Float32Array(0))},
    {format: 'pt'},
  )
  const headerLength = Number(new DataView(file.buffer).getBigUint64(0, true))
  assert.equal((8 + headerLength) % 8, 0, 'data starts 8-byte aligned')
  const back = decodeSafetensors(file)
  assert.deepEqual(back.metadata, {format: 'pt'})
  assert.deepEqual(back.tensors['a.weight'].shape, [2, 3])
  assert.deepEqual(Buffer.from(back.tensors['a.weight'].bytes), Buffer.from(weights.buffer))
  assert.deepEqual(Array.from(toFloat32(back.tensors['a.weight'])).map(String), Array.from(weights).map(String))
  assert.deepEqual(new Int32Array(back.tensors['b.ids'].bytes.slice().buffer), ids)
  assert.equal(back.tensors.empty.bytes.length, 0)
})

test('safetensors rejects a truncated file and offsets that do not match the shape', () => {
  const file = encodeSafetensors({x: f32Tensor([4], new Float32Array(4))})
  assert.throws(() => decodeSafetensors(file.subarray(0, file.length - 4)), /offsets|past the end/)
  assert.throws(() => encodeSafetensors({x: f32Tensor([5], new Float32Array(4))}), /shape needs/)
})

// An independent reader/writer written from the spec with numpy (not the safetensors package, which
// is not installed here): checks the header layout, offsets, dtypes and little-endian data.
const PY_READ = `
import json, struct, sys, numpy as np
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
meta = header.pop('__metadata__', {})
dt = {'F32': '<f4', 'I32': '<i4', 'F64': '<f8'}
out = {'meta': meta}
for name, info in header.items():
    b, e = info['data_offsets']
    arr = np.frombuffer(raw[8 + n + b:8 + n + e], dtype=dt[info['dtype']]).reshape(info['shape'])
    out[name] = {'shape': list(arr.shape), 'sum': float(arr.astype(np.float64).sum()), 'first': arr.ravel()[:3].tolist()}
print(json.dumps(out))
`
const PY_WRITE = `
import json, struct, sys, numpy as np
w = (np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5) / 3
b = np.array([1, -2, 3], dtype=np.int32)
tensors = [('layer.weight', 'F32', w), ('layer.ids', 'I32', b)]
header, blobs, off = {'__metadata__': {'format': 'pt'}}, [], 0
for name, dtype, arr in tensors:
    data = arr.astype(arr.dtype.newbyteorder('<')).tobytes()
    header[name] = {'dtype': dtype, 'shape': list(arr.shape), 'data_offsets': [off, off + len(data)]}
    blobs.append(data); off += len(data)
h = json.dumps(header).encode()
h += b' ' * ((8 - len(h) % 8) % 8)
open(sys.argv[1], 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
`

test('a file rfm writes reads back in an independent numpy reader', {skip: numpySkip}, () => {
  const dir = tmp()
  const values = Float32Array.from({length: 24}, (_, i) => (i - 7) / 8)
  writeFileSync(path.join(dir, 'r.py'), PY_READ)
  writeFileSync(path.join(dir, 'm.safetensors'), encodeSafetensors({'blocks.0.w': f32Tensor([2, 3, 4], values)}, {format: 'pt'}))
  const run = spawnSync('python3', [path.join(dir, 'r.py'), path.join(dir, 'm.safetensors')], {encoding: 'utf8'})
  assert.equal(run.status, 0, run.stderr)
  const out = JSON.parse(run.stdout)
  assert.deepEqual(out.meta, {format: 'pt'})
  assert.deepEqual(out['blocks.0.w'].shape, [2, 3, 4])
  assert.equal(
    out['blocks.0.w'].sum,
    values.reduce((a, b) => a + b, 0),
  )
  assert.deepEqual(out['blocks.0.w'].first, [-7 / 8, -6 / 8, -5 / 8])
})

test('a file written by an independent numpy writer decodes in rfm', {skip: numpySkip}, () => {
  const dir = tmp()
  writeFileSync(path.join(dir, 'w.py'), PY_WRITE)
  const run = spawnSync('python3', [path.join(dir, 'w.py'), path.join(dir, 'p.safetensors')], {encoding: 'utf8'})
  assert.equal(run.status, 0, run.stderr)
  const back = decodeSafetensors(readFileSync(path.join(dir, 'p.safetensors')))
  assert.deepEqual(back.metadata, {format: 'pt'})
  assert.deepEqual(back.tensors['layer.weight'].shape, [3, 4])
  assert.deepEqual(
    Array.from(toFloat32(back.tensors['layer.weight'])),
    Array.from({length: 12}, (_, i) => Math.fround((i - 5.5) / 3)),
  )
  assert.deepEqual(Array.from(new Int32Array(back.tensors['layer.ids'].bytes.slice().buffer)), [1, -2, 3])
})

// --- an independent TFRecord + protobuf reader (bitwise CRC, no shared code with the writer) ---
function crc32cBitwise(bytes: Uint8Array): number {
  let crc = ~0 >>> 0
  for (const byte of bytes) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0x82f63b78 & -(crc & 1))
  }
  return ~crc >>> 0
}
const masked = (c: number) => ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0

function readRecords(file: Buffer): Buffer[] {
  const out: Buffer[] = []
  let at = 0
  while (at < file.length) {
    const len = Number(file.readBigUInt64LE(at))
    assert.equal(file.readUInt32LE(at + 8), masked(crc32cBitwise(file.subarray(at, at + 8))), 'length crc')
    const data = file.subarray(at + 12, at + 12 + len)
    assert.equal(file.readUInt32LE(at + 12 + len), masked(crc32cBitwise(data)), 'data crc')
    out.push(data)
    at += 16 + len
  }
  return out
}

type Field = {field: number; wire: number; value: bigint | Buffer}
function parseProto(buf: Buffer): Field[] {
  const fields: Field[] = []
  let at = 0
  const varint = () => {
    let result = 0n
    let shift = 0n
    for (;;) {
      const b = buf[at++]
      result |= BigInt(b & 0x7f) << shift
      if (!(b & 0x80)) return result
      shift += 7n
    }
  }
  while (at < buf.length) {
    const key = Number(varint())
    const field = key >> 3
    const wire = key & 7
    if (wire === 0) fields.push({field, wire, value: varint()})
    else if (wire === 1) fields.push({field, wire, value: buf.subarray(at, (at += 8))})
    else if (wire === 5) fields.push({field, wire, value: buf.subarray(at, (at += 4))})
    else if (wire === 2) {
      const len = Number(varint())
      fields.push({field, wire, value: buf.subarray(at, (at += len))})
    } else throw new Error(`unexpected wire type ${wire}`)
  }
  return fields
}

test('TensorBoard event files decode with an independent TFRecord/protobuf reader', () => {
  const dir = tmp()
  let clock = 1_700_000_000_000
  const writer = new TensorBoardWriter(dir, () => (clock += 1500))
  writer.scalars(1, {loss: 2.5, lr: 1e-3})
  writer.scalars(300, {loss: 0.125})
  const files = readdirSync(dir)
  assert.equal(files.length, 1)
  assert.match(files[0], /^events\.out\.tfevents\.\d+\./)
  const records = readRecords(readFileSync(path.join(dir, files[0])))
  assert.equal(records.length, 3)
  const version = parseProto(records[0])
  assert.equal((version.find((f) => f.field === 3)!.value as Buffer).toString(), 'brain.Event:2')
  const scalars = records.slice(1).map((r) => {
    const f = parseProto(r)
    const wall = (f.find((x) => x.field === 1)!.value as Buffer).readDoubleLE(0)
    const step = Number(f.find((x) => x.field === 2)!.value as bigint)
    const values = parseProto(f.find((x) => x.field === 5)!.value as Buffer).map((v) => {
      const inner = parseProto(v.value as Buffer)
      return [(inner.find((x) => x.field === 1)!.value as Buffer).toString(), (inner.find((x) => x.field === 2)!.value as Buffer).readFloatLE(0)]
    })
    return {wall, step, values: Object.fromEntries(values)}
  })
  assert.deepEqual(
    scalars.map((s) => s.step),
    [1, 300],
  )
  assert.deepEqual(scalars[0].values, {loss: 2.5, lr: Math.fround(1e-3)})
  assert.deepEqual(scalars[1].values, {loss: 0.125})
  assert.ok(scalars[1].wall > scalars[0].wall)
})
