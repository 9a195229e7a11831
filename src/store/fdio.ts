/**
 * File-descriptor I/O as promises (node:fs callbacks), for the many small reads and writes of
 * staging: cheaper than fs/promises' FileHandle, whose bookkeeping (an object per open file, close
 * tracking) cost ~15 % of a small file's time (measured in bench/staging.ts). Every caller closes
 * its descriptor in a `finally`.
 */
import * as fs from 'node:fs'

export const fdio = {
  open: (file: string, flags: string) => new Promise<number>((resolve, reject) => fs.open(file, flags, (error, fd) => (error ? reject(error) : resolve(fd)))),
  close: (fd: number) => new Promise<void>((resolve, reject) => fs.close(fd, (error) => (error ? reject(error) : resolve()))),
  fsync: (fd: number) => new Promise<void>((resolve, reject) => fs.fsync(fd, (error) => (error ? reject(error) : resolve()))),
  /** bytes read into `buffer` at `offset`, from `position` in the file (0 at its end) */
  read: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) =>
    new Promise<number>((resolve, reject) => fs.read(fd, buffer, offset, length, position, (error, n) => (error ? reject(error) : resolve(n)))),
  /** bytes written from `buffer[offset..offset+length)` (may be fewer than asked: write again) */
  write: (fd: number, buffer: Uint8Array, offset: number, length: number) =>
    new Promise<number>((resolve, reject) => fs.write(fd, buffer, offset, length, null, (error, n) => (error ? reject(error) : resolve(n)))),
}
