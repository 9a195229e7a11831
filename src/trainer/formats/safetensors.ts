/**
 * safetensors (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length,
 * a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}},
 * then the raw little-endian tensor bytes. We write tensors sorted by name, contiguous, with the
 * header padded by spaces to a multiple of 8 bytes as the reference writer does.
 */
export type SafeDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'U16' | 'U32' | 'U64' | 'BOOL'

const BYTES: Record<SafeDType, number> = {F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, U16: 2, U32: 4, U64: 8, BOOL: 1}

export interface SafeTensor {
  dtype: SafeDType
  shape: number[]
  /** little-endian bytes, exactly product(shape) × element size */
  bytes: Uint8Array
}

export function f32Tensor(shape: number[], values: Float32Array): SafeTensor {
  return {dtype: 'F32', shape, bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength)}
}

/** Values as a Float32Array copy (F32 only; the trainer keeps everything in float32). */
export function toFloat32(tensor: SafeTensor): Float32Array {
  if (tensor.dtype !== 'F32') throw new Error(`expected an F32 tensor, got ${tensor.dtype}`)
  const out = new Float32Array(tensor.bytes.byteLength / 4)
  new Uint8Array(out.buffer).set(tensor.bytes)
  return out
}

export function encodeSafetensors(tensors: Record<string, SafeTensor>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort()
  const header: Record<string, unknown> = {}
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata
  let offset = 0
  for (const name of names) {
    const t = tensors[name]
    const expected = t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype]
    if (t.bytes.byteLength !== expected) throw new Error(`safetensors: ${name} has ${t.bytes.byteLength} bytes, shape needs ${expected}`)
    header[name] = {dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + expected]}
    offset += expected
  }
  let json = JSON.stringify(header)
  const jsonBytes = Buffer.byteLength(json)
  json += ' '.repeat((8 - (jsonBytes % 8)) % 8)
  const headerBytes = Buffer.from(json, 'utf8')
  const out = new Uint8Array(8 + headerBytes.length + offset)
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true)
  out.set(headerBytes, 8)
  let at = 8 + headerBytes.length
  for (const name of names) {
    out.set(tensors[name].bytes, at)
    at += tensors[name].bytes.byteLength
  }
  return out
}

export interface DecodedSafetensors {
  tensors: Record<string, SafeTensor>
  metadata: Record<string, string>
}

export function decodeSafetensors(file: Uint8Array): DecodedSafetensors {
  if (file.byteLength < 8) throw new Error('safetensors: file shorter than its 8-byte header length')
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength)
  const headerLength = Number(view.getBigUint64(0, true))
  if (8 + headerLength > file.byteLength) throw new Error('safetensors: header length runs past the end of the file')
  const header = JSON.parse(Buffer.from(file.subarray(8, 8 + headerLength)).toString('utf8')) as Record<string, any>
  const dataStart = 8 + headerLength
  const tensors: Record<string, SafeTensor> = {}
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue
    const dtype = info.dtype as SafeDType
    if (!(dtype in BYTES)) throw new Error(`safetensors: ${name} has unknown dtype ${dtype}`)
    const [begin, end] = info.data_offsets as [number, number]
    const shape = info.shape as number[]
    if (end - begin !== shape.reduce((a, b) => a * b, 1) * BYTES[dtype] || dataStart + end > file.byteLength) {
      throw new Error(`safetensors: ${name} offsets do not match its shape`)
    }
    // a real copy (Buffer#slice would be a view into the shared pool) so the tensor owns aligned memory
    tensors[name] = {dtype, shape, bytes: Uint8Array.prototype.slice.call(file, dataStart + begin, dataStart + end)}
  }
  return {tensors, metadata: (header.__metadata__ ?? {}) as Record<string, string>}
}
