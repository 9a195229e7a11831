/**
 * The part of the ZIP format that .npz files use: stored or deflated entries, found through the
 * central directory (so the zip64 local headers numpy writes with `force_zip64` don't matter).
 */
import {crc32, deflateRawSync, inflateRawSync} from 'node:zlib'

import {FormatError} from './errors'

const EOCD = 0x06054b50
const ZIP64_LOCATOR = 0x07064b50
const CENTRAL = 0x02014b50
const LOCAL = 0x04034b50

export function readZipEntries(bytes: Uint8Array, source: string): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let eocd = -1
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65_535); i--) {
    if (view.getUint32(i, true) === EOCD) {
      eocd = i
      break
    }
  }
  if (eocd < 0) throw new FormatError(source, 'not a zip/.npz file (no end of central directory)')
  let count = view.getUint16(eocd + 10, true)
  let offset = view.getUint32(eocd + 16, true)
  if ((count === 0xffff || offset === 0xffffffff) && eocd >= 20 && view.getUint32(eocd - 20, true) === ZIP64_LOCATOR) {
    const z64 = Number(view.getBigUint64(eocd - 20 + 8, true))
    count = Number(view.getBigUint64(z64 + 32, true))
    offset = Number(view.getBigUint64(z64 + 48, true))
  }
  const entries = new Map<string, Uint8Array>()
  for (let i = 0; i < count; i++) {
    if (view.getUint32(offset, true) !== CENTRAL) throw new FormatError(source, 'corrupt zip central directory')
    const method = view.getUint16(offset + 10, true)
    const crc = view.getUint32(offset + 16, true)
    let compressed = view.getUint32(offset + 20, true)
    let size = view.getUint32(offset + 24, true)
    const nameLength = view.getUint16(offset + 28, true)
    const extraLength = view.getUint16(offset + 30, true)
    const commentLength = view.getUint16(offset + 32, true)
    let local = view.getUint32(offset + 42, true)
    const name = Buffer.from(bytes.subarray(offset + 46, offset + 46 + nameLength)).toString('utf8')
    // zip64 extra field: the 64-bit values of whichever 32-bit fields are saturated, in this order
    for (let e = offset + 46 + nameLength; e < offset + 46 + nameLength + extraLength;) {
      const id = view.getUint16(e, true)
      const length = view.getUint16(e + 2, true)
      if (id === 0x0001) {
        let p = e + 4
        if (size === 0xffffffff) {
          size = Number(view.getBigUint64(p, true))
          p += 8
        }
        if (compressed === 0xffffffff) {
          compressed = Number(view.getBigUint64(p, true))
          p += 8
        }
        if (local === 0xffffffff) local = Number(view.getBigUint64(p, true))
      }
      e += 4 + length
    }
    if (view.getUint32(local, true) !== LOCAL) throw new FormatError(source, `corrupt zip entry ${name}`)
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true)
    const raw = bytes.subarray(start, start + compressed)
    let data: Uint8Array
    if (method === 0) data = raw
    else if (method === 8) data = inflateRawSync(raw)
    else throw new FormatError(source, `zip entry ${name} uses compression method ${method}; only stored and deflate are supported`)
    if (data.length !== size || crc32(data) >>> 0 !== crc) throw new FormatError(source, `zip entry ${name} is corrupt (size or CRC mismatch)`)
    entries.set(name, data)
    offset += 46 + nameLength + extraLength + commentLength
  }
  return entries
}

export function writeZip(entries: Map<string, Uint8Array>, compress: boolean): Buffer {
  const parts: Buffer[] = []
  const central: Buffer[] = []
  let offset = 0
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, 'utf8')
    const body = compress ? deflateRawSync(data) : Buffer.from(data)
    const crc = crc32(data) >>> 0
    const local = Buffer.alloc(30)
    local.writeUInt32LE(LOCAL, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(compress ? 8 : 0, 8)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(body.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(nameBytes.length, 26)
    const dir = Buffer.alloc(46)
    dir.writeUInt32LE(CENTRAL, 0)
    dir.writeUInt16LE(20, 4)
    dir.writeUInt16LE(20, 6)
    dir.writeUInt16LE(compress ? 8 : 0, 10)
    dir.writeUInt32LE(crc, 16)
    dir.writeUInt32LE(body.length, 20)
    dir.writeUInt32LE(data.length, 24)
    dir.writeUInt16LE(nameBytes.length, 28)
    dir.writeUInt32LE(offset, 42)
    parts.push(local, nameBytes, body)
    central.push(dir, nameBytes)
    offset += 30 + nameBytes.length + body.length
  }
  const centralBytes = Buffer.concat(central)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(EOCD, 0)
  end.writeUInt16LE(entries.size, 8)
  end.writeUInt16LE(entries.size, 10)
  end.writeUInt32LE(centralBytes.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...parts, centralBytes, end])
}
