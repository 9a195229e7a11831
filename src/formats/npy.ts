/**
 * numpy's .npy format (version 1–3): magic, a Python-dict header, then the raw array. We read the
 * dtypes that datasets actually use, little- or big-endian, C or Fortran order (returned in C order).
 */
import {FormatError} from './errors'

export type NpyDtype = 'f4' | 'f8' | 'i1' | 'u1' | 'i2' | 'u2' | 'i4' | 'u4' | 'i8' | 'u8' | 'b1' | 'U'
export type NdData = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | string[]

export interface NdArray {
  dtype: NpyDtype
  shape: number[]
  data: NdData
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] // \x93NUMPY

interface NumericType {
  size: number
  make(length: number): Exclude<NdData, string[]>
  read(view: DataView, offset: number, little: boolean): number | bigint
  write(view: DataView, offset: number, value: number | bigint): void
}

const NUMERIC: Record<Exclude<NpyDtype, 'U'>, NumericType> = {
  f4: {size: 4, make: (n) => new Float32Array(n), read: (v, o, le) => v.getFloat32(o, le), write: (v, o, x) => v.setFloat32(o, Number(x), true)},
  f8: {size: 8, make: (n) => new Float64Array(n), read: (v, o, le) => v.getFloat64(o, le), write: (v, o, x) => v.setFloat64(o, Number(x), true)},
  i1: {size: 1, make: (n) => new Int8Array(n), read: (v, o) => v.getInt8(o), write: (v, o, x) => v.setInt8(o, Number(x))},
  u1: {size: 1, make: (n) => new Uint8Array(n), read: (v, o) => v.getUint8(o), write: (v, o, x) => v.setUint8(o, Number(x))},
  b1: {size: 1, make: (n) => new Uint8Array(n), read: (v, o) => v.getUint8(o), write: (v, o, x) => v.setUint8(o, Number(x))},
  i2: {size: 2, make: (n) => new Int16Array(n), read: (v, o, le) => v.getInt16(o, le), write: (v, o, x) => v.setInt16(o, Number(x), true)},
  u2: {size: 2, make: (n) => new Uint16Array(n), read: (v, o, le) => v.getUint16(o, le), write: (v, o, x) => v.setUint16(o, Number(x), true)},
  i4: {size: 4, make: (n) => new Int32Array(n), read: (v, o, le) => v.getInt32(o, le), write: (v, o, x) => v.setInt32(o, Number(x), true)},
  u4: {size: 4, make: (n) => new Uint32Array(n), read: (v, o, le) => v.getUint32(o, le), write: (v, o, x) => v.setUint32(o, Number(x), true)},
  i8: {size: 8, make: (n) => new BigInt64Array(n), read: (v, o, le) => v.getBigInt64(o, le), write: (v, o, x) => v.setBigInt64(o, BigInt(x), true)},
  u8: {size: 8, make: (n) => new BigUint64Array(n), read: (v, o, le) => v.getBigUint64(o, le), write: (v, o, x) => v.setBigUint64(o, BigInt(x), true)},
}

function parseHeader(text: string, source: string): {descr: string; fortran: boolean; shape: number[]} {
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text)?.[1]
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1]
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1]
  if (!descr || !fortran || shape === undefined) throw new FormatError(source, `not a valid .npy header: ${text.trim()}`)
  return {
    descr,
    fortran: fortran === 'True',
    shape: shape
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map(Number),
  }
}

export function parseNpy(bytes: Uint8Array, source = '<npy>'): NdArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new FormatError(source, 'not a .npy file (bad magic bytes)')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const major = bytes[6]
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true)
  const headerStart = major === 1 ? 10 : 12
  const header = parseHeader(Buffer.from(bytes.subarray(headerStart, headerStart + headerLength)).toString(major === 3 ? 'utf8' : 'latin1'), source)
  const offset = headerStart + headerLength
  const count = header.shape.reduce((a, b) => a * b, 1)
  const order = header.descr[0]
  const little = order !== '>'
  const code = header.descr.slice(1)

  let data: NdData
  let dtype: NpyDtype
  if (code.startsWith('U')) {
    // numpy unicode: fixed-width UTF-32 code units, NUL-padded
    const width = Number(code.slice(1))
    const strings: string[] = []
    for (let i = 0; i < count; i++) {
      let s = ''
      for (let j = 0; j < width; j++) {
        const cp = view.getUint32(offset + (i * width + j) * 4, little)
        if (cp === 0) break
        s += String.fromCodePoint(cp)
      }
      strings.push(s)
    }
    data = strings
    dtype = 'U'
  } else if (code.startsWith('S')) {
    const width = Number(code.slice(1))
    data = Array.from({length: count}, (_, i) =>
      Buffer.from(bytes.subarray(offset + i * width, offset + (i + 1) * width))
        .toString('latin1')
        .replace(/\0+$/, ''),
    )
    dtype = 'U'
  } else {
    const key = (code === '?' ? 'b1' : code) as Exclude<NpyDtype, 'U'>
    const type = NUMERIC[key]
    if (!type) throw new FormatError(source, `unsupported dtype '${header.descr}'`, {hint: 'Save arrays as float32/float64, (u)int8–64, bool or unicode strings.'})
    if (offset + count * type.size > bytes.length)
      throw new FormatError(source, `truncated: ${count} × ${header.descr} needs ${count * type.size} bytes after the header, the file has ${bytes.length - offset}`)
    const out = type.make(count)
    if (little && (bytes.byteOffset + offset) % type.size === 0 && key !== 'b1') {
      out.set(new (out.constructor as any)(bytes.buffer, bytes.byteOffset + offset, count))
    } else {
      for (let i = 0; i < count; i++) (out as any)[i] = type.read(view, offset + i * type.size, little)
    }
    data = out
    dtype = key
  }
  if (header.fortran && header.shape.length > 1) data = fortranToC(data, header.shape)
  return {dtype, shape: header.shape, data}
}

/** Reorders a column-major array into row-major order. */
function fortranToC<T extends NdData>(data: T, shape: number[]): T {
  const out: any = Array.isArray(data) ? new Array(data.length) : new (data.constructor as any)(data.length)
  const n = shape.length
  const index = new Array(n).fill(0)
  for (let c = 0; c < data.length; c++) {
    let f = 0
    let stride = 1
    for (let d = 0; d < n; d++) {
      f += index[d] * stride
      stride *= shape[d]
    }
    out[c] = (data as any)[f]
    for (let d = n - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break
      index[d] = 0
    }
  }
  return out
}

export function encodeNpy(array: NdArray): Uint8Array {
  const count = array.shape.reduce((a, b) => a * b, 1)
  if (array.data.length !== count) throw new Error(`encodeNpy: shape [${array.shape}] holds ${count} values, data has ${array.data.length}`)
  let descr: string
  let body: Uint8Array
  if (array.dtype === 'U') {
    const strings = array.data as string[]
    const width = Math.max(1, ...strings.map((s) => [...s].length))
    descr = `<U${width}`
    const buf = new DataView(new ArrayBuffer(count * width * 4))
    strings.forEach((s, i) => [...s].forEach((ch, j) => buf.setUint32((i * width + j) * 4, ch.codePointAt(0)!, true)))
    body = new Uint8Array(buf.buffer)
  } else {
    const type = NUMERIC[array.dtype]
    descr = array.dtype === 'b1' ? '|b1' : type.size === 1 ? `|${array.dtype}` : `<${array.dtype}`
    const view = new DataView(new ArrayBuffer(count * type.size))
    for (let i = 0; i < count; i++) type.write(view, i * type.size, (array.data as any)[i])
    body = new Uint8Array(view.buffer)
  }
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`
  // pad so that the data starts on a 64-byte boundary, header ends with '\n'
  const total = 10 + header.length + 1
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n'
  const out = new Uint8Array(10 + header.length + body.length)
  out.set([...MAGIC, 1, 0])
  new DataView(out.buffer).setUint16(8, header.length, true)
  out.set(Buffer.from(header, 'latin1'), 10)
  out.set(body, 10 + header.length)
  return out
}

/** Any numeric array as float32 (the trainers' input type). */
export function toFloat32(array: NdArray): Float32Array {
  if (array.dtype === 'U') throw new Error('toFloat32: a string array has no numeric value')
  if (array.data instanceof Float32Array) return array.data
  const out = new Float32Array(array.data.length)
  for (let i = 0; i < out.length; i++) out[i] = Number((array.data as any)[i])
  return out
}
