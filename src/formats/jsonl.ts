import {createReadStream} from 'node:fs'
import {createInterface} from 'node:readline'

import {FormatError} from './errors'

/** Records of a JSON-lines file with their 1-based line numbers; blank lines are skipped, a bad line names itself. */
export async function* readJsonl(file: string): AsyncGenerator<{line: number; record: unknown}> {
  const stream = createReadStream(file, {encoding: 'utf8'})
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve())
    stream.once('error', reject)
  })
  try {
    await opened
  } catch (error) {
    throw new FormatError(file, `cannot read: ${(error as Error).message}`)
  }
  let line = 0
  for await (const text of createInterface({input: stream, crlfDelay: Infinity})) {
    line++
    if (text.trim() === '') continue
    let record: unknown
    try {
      record = JSON.parse(text)
    } catch (error) {
      throw new FormatError(`${file}:${line}`, `not valid JSON (${(error as Error).message})`, {hint: 'Each line must be one JSON object.'})
    }
    yield {line, record}
  }
}
