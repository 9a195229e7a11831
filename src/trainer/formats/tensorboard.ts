/**
 * TensorBoard event files written by hand: TFRecord framing (u64 length, masked crc32c of the
 * length, data, masked crc32c of the data) around Event protos with just the fields TensorBoard
 * needs for scalars: wall_time (1, double), step (2, int64), file_version (3, string),
 * summary (5) { value (1) { tag (1), simple_value (2, float) } }.
 */
import {appendFileSync, mkdirSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import {maskedCrc32c} from './crc32c'

class ProtoWriter {
  private parts: number[] = []

  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value))
    while (v >= 0x80n) {
      this.parts.push(Number((v & 0x7fn) | 0x80n))
      v >>= 7n
    }
    this.parts.push(Number(v))
    return this
  }

  tag(field: number, wireType: number): this {
    return this.varint((field << 3) | wireType)
  }

  double(field: number, value: number): this {
    const b = Buffer.alloc(8)
    b.writeDoubleLE(value)
    this.tag(field, 1).parts.push(...b)
    return this
  }

  float(field: number, value: number): this {
    const b = Buffer.alloc(4)
    b.writeFloatLE(value)
    this.tag(field, 5).parts.push(...b)
    return this
  }

  int64(field: number, value: number): this {
    return this.tag(field, 0).varint(value)
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2)
      .varint(value.length)
      .parts.push(...value)
    return this
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'))
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts)
  }
}

export function encodeScalarEvent(wallTime: number, step: number, values: Record<string, number>): Uint8Array {
  const summary = new ProtoWriter()
  for (const [tag, value] of Object.entries(values)) {
    summary.bytes(1, new ProtoWriter().string(1, tag).float(2, value).finish())
  }
  return new ProtoWriter().double(1, wallTime).int64(2, step).bytes(5, summary.finish()).finish()
}

export function encodeVersionEvent(wallTime: number): Uint8Array {
  return new ProtoWriter().double(1, wallTime).string(3, 'brain.Event:2').finish()
}

export function tfRecord(data: Uint8Array): Uint8Array {
  const out = Buffer.alloc(16 + data.length)
  out.writeBigUInt64LE(BigInt(data.length), 0)
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8)
  out.set(data, 12)
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length)
  return out
}

/** Appends scalar events to `<logdir>/events.out.tfevents.<time>.<host>` (what `tensorboard --logdir` globs). */
export class TensorBoardWriter {
  readonly file: string

  constructor(logdir: string, now: () => number = Date.now) {
    mkdirSync(logdir, {recursive: true})
    const seconds = now() / 1000
    this.file = path.join(logdir, `events.out.tfevents.${Math.floor(seconds)}.${os.hostname()}`)
    writeFileSync(this.file, tfRecord(encodeVersionEvent(seconds)))
    this.now = now
  }

  private now: () => number

  scalars(step: number, values: Record<string, number>): void {
    appendFileSync(this.file, tfRecord(encodeScalarEvent(this.now() / 1000, step, values)))
  }
}
