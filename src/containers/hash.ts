/**
 * Content hash of an image's inputs: the image tag. It must be the same on every machine for the
 * same inputs, and change when any input changes, so that an unchanged image is found in the
 * registry and neither rebuilt nor pushed. What counts (and what does not):
 * - each file's path relative to the build context, with "/" separators, sorted by byte order;
 * - each file's bytes, with CRLF line endings of text files (no NUL byte) turned into LF, so a
 *   Windows checkout with autocrlf hashes like a Unix one. The staged build context gets the same
 *   normalised bytes, so the image holds exactly what was hashed;
 * - of the file mode, only whether it is executable (umask and group bits vary between machines);
 * - the build arguments rfm passes (names and values).
 * Not counted: mtimes, owners, absolute paths, the order files were listed in.
 */
import {createHash} from 'node:crypto'

export interface ContextFile {
  /** path inside the build context, "/"-separated, no leading "./" */
  path: string
  /** the bytes as they go into the context (see normaliseBytes) */
  bytes: Buffer
  executable: boolean
}

/** CRLF → LF in text files; binary files (any NUL byte) are left as they are. */
export function normaliseBytes(bytes: Buffer): Buffer {
  if (bytes.includes(0) || !bytes.includes('\r\n')) return bytes
  return Buffer.from(bytes.toString('latin1').replace(/\r\n/g, '\n'), 'latin1')
}

/** Byte-order comparison, so the order does not depend on the locale. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

/** sha256 (hex) over the sorted files and build arguments, in an unambiguous framing. */
export function contentHash(files: ContextFile[], buildArgs: Record<string, string> = {}): string {
  const hash = createHash('sha256')
  hash.update('rfm-image-inputs/v1\0')
  const sorted = [...files].sort((a, b) => compareBytes(a.path, b.path))
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].path === sorted[i - 1].path) throw new Error(`duplicate build-context path ${sorted[i].path}`)
  }
  for (const file of sorted) {
    if (file.path.startsWith('/') || file.path.includes('\\') || file.path.split('/').includes('..')) {
      throw new Error(`build-context path must be relative and "/"-separated: ${file.path}`)
    }
    hash.update(`file\0${file.path}\0${file.executable ? 'x' : '-'}\0${file.bytes.length}\0`)
    hash.update(file.bytes)
  }
  for (const name of Object.keys(buildArgs).sort(compareBytes)) {
    const value = buildArgs[name]
    hash.update(`arg\0${name}\0${Buffer.byteLength(value)}\0${value}`)
  }
  return hash.digest('hex')
}
