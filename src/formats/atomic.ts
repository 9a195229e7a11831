import {randomBytes} from 'node:crypto'
import {open, rename, rm} from 'node:fs/promises'
import * as path from 'node:path'

/** Writes a file through a temporary sibling, fsync, rename: readers see the old file or the whole new one. */
export async function atomicWriteFile(file: string, bytes: Uint8Array): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`)
  const handle = await open(tmp, 'w')
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(tmp, file)
  } catch (error) {
    await rm(tmp, {force: true})
    throw error
  }
}
