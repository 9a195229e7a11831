/**
 * Reads a config file as text with limits: at most MAX_CONFIG_BYTES, valid UTF-8 (no silent
 * U+FFFD), and never blocking forever on a FIFO that has no writer (`-c <(...)` still works).
 */
import {constants, promises as fs} from 'node:fs'

import {ConfigError} from '../errors'

/** A config is a few KB; anything near this is a mistake or an attack, not a config. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024
/** How long a pipe may stay silent while its writer still holds it open. */
const PIPE_WAIT_MS = 30_000

const fileError = (file: string, what: string, hint: string) => new ConfigError(`Config file ${file} ${what}.`, {code: 'CONFIG_FILE', hint, details: {file}})
const tooBig = (file: string) => fileError(file, `is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MB`, 'A config holds keys and values; put data in a dataset folder and name it in the config.')

export async function readConfigText(file: string): Promise<string> {
  let stat
  try {
    stat = await fs.stat(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw fileError(file, code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`, 'Pass the path of a YAML or JSON file with --config, relative to the current directory.')
  }
  if (stat.isDirectory()) throw fileError(file, 'is a directory', 'Pass the path of a YAML or JSON file with --config.')
  if (stat.isFile() && stat.size > MAX_CONFIG_BYTES) throw tooBig(file)
  if (!stat.isFile() && !stat.isFIFO()) throw fileError(file, 'is not a regular file', 'Pass the path of a YAML or JSON file with --config.')
  let bytes: Buffer
  try {
    bytes = stat.isFIFO() ? await readPipe(file) : await fs.readFile(file)
  } catch (error) {
    if (error instanceof ConfigError) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw fileError(
      file,
      `cannot be read (${code === 'EACCES' ? 'permission denied' : code})`,
      code === 'EACCES' ? "Check the file's permissions (ls -l)." : 'Pass the path of a YAML or JSON file with --config.',
    )
  }
  if (bytes.length > MAX_CONFIG_BYTES) throw tooBig(file)
  try {
    return new TextDecoder('utf-8', {fatal: true}).decode(bytes)
  } catch {
    const at = firstInvalidUtf8(bytes)
    throw fileError(file, `is not UTF-8 text (an invalid byte 0x${bytes[at]?.toString(16).padStart(2, '0')} near offset ${at})`, 'Save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8).')
  }
}

/** A FIFO opened without blocking: EOF before any byte means nobody writes to it. */
async function readPipe(file: string): Promise<Buffer> {
  const handle = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK)
  const chunks: Buffer[] = []
  let total = 0
  let quietSince = Date.now()
  try {
    for (;;) {
      const buffer = Buffer.alloc(64 * 1024)
      let bytesRead: number
      try {
        ;({bytesRead} = await handle.read(buffer, 0, buffer.length, null))
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error
        if (Date.now() - quietSince > PIPE_WAIT_MS) throw fileError(file, `is a pipe that sent nothing for ${PIPE_WAIT_MS / 1000} s`, 'Pass a regular YAML or JSON file with --config.')
        await new Promise((resolve) => setTimeout(resolve, 10))
        continue
      }
      if (bytesRead === 0) break
      quietSince = Date.now()
      total += bytesRead
      if (total > MAX_CONFIG_BYTES) throw tooBig(file)
      chunks.push(buffer.subarray(0, bytesRead))
    }
  } finally {
    await handle.close()
  }
  if (total === 0) throw fileError(file, 'is a FIFO with no writer (nothing to read)', 'Pass a regular YAML or JSON file with --config; a FIFO needs a process writing into it.')
  return Buffer.concat(chunks)
}

function firstInvalidUtf8(bytes: Buffer): number {
  const decoder = new TextDecoder('utf-8', {fatal: true})
  let lo = 0
  let hi = bytes.length
  // the longest valid prefix, by bisection (a cut inside a character counts as invalid)
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    try {
      decoder.decode(bytes.subarray(0, mid))
      lo = mid
    } catch {
      hi = mid - 1
    }
  }
  return lo
}
