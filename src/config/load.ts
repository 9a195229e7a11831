import * as path from 'node:path'
import {isMap, isScalar, parseDocument, visit} from '../vendor/yaml'

import {ConfigError} from '../errors'
import {MAX_CONFIG_BYTES, readConfigText} from './read-text'

/** What a config may expand to once its aliases are resolved (the run record stores it). */
export const MAX_RESOLVED_CONFIG_BYTES = MAX_CONFIG_BYTES

/** Reads a YAML or JSON config file into plain data; syntax errors name the line and column. */
export async function loadConfigFile(file: string): Promise<Record<string, unknown>> {
  return parseConfigText(await readConfigText(file), file)
}

export function parseConfigText(text: string, file: string): Record<string, unknown> {
  const isJson = path.extname(file) === '.json'
  const syntaxError = (line: number | undefined, column: number | undefined, reason: string, hint = 'Check indentation, quotes and brackets around that line.') =>
    new ConfigError(`Config file ${file} is not valid ${isJson ? 'JSON' : 'YAML'}${line === undefined ? '' : ` at line ${line}, column ${column}`}: ${reason}.`, {
      code: 'CONFIG_SYNTAX',
      hint,
      details: {file, line, column},
    })
  // yaml's own uniqueKeys check compares every key with every other (quadratic); ours is linear, below.
  const document = parseDocument(text, {prettyErrors: true, uniqueKeys: false})
  const problem = document.errors[0]
  if (problem) {
    const [line, column] = problem.linePos?.[0] ? [problem.linePos[0].line, problem.linePos[0].col] : [undefined, undefined]
    const reason = problem.message
      .split('\n')[0]
      .replace(/ at line \d+, column \d+:?$/, '')
      .replace(/\.$/, '')
      .replace(/; please use YAML\.parseAllDocuments\(\)/, '')
    throw syntaxError(line, column, reason)
  }
  const duplicate = firstDuplicateKey(document, text)
  if (duplicate) throw syntaxError(duplicate.line, duplicate.column, `the key ${JSON.stringify(duplicate.key)} appears twice in one mapping`, 'Keep one of them.')
  const comment = isJson ? /(^|[,{[])[ \t]*(\/\/|\/\*)/m.exec(text) : null
  if (comment) {
    const at = lineColumn(text, comment.index + comment[0].length - 2)
    throw syntaxError(at.line, at.column, 'JSON has no comments', 'Remove the // or /* */ comments, or write the config as YAML (comments start with #).')
  }
  let data: unknown
  try {
    data = document.toJS({maxAliasCount: 1000})
  } catch (error) {
    // e.g. "Excessive alias count indicates a resource exhaustion attack": a YAML bomb is a bad config
    throw syntaxError(undefined, undefined, `its aliases (*name) expand too far (${(error as Error).message.replace(/\.$/, '')})`, 'Use fewer aliases, or write the values out.')
  }
  if (data === null || data === undefined) return {}
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`Config file ${file} must hold a mapping of keys to values, not ${Array.isArray(data) ? 'a list' : 'a single value'}.`, {
      code: 'CONFIG_SYNTAX',
      hint: 'Start the file with keys such as `command:` or `model:`.',
      details: {file},
    })
  }
  checkResolvedSize(data, `Config file ${file}`)
  return data as Record<string, unknown>
}

/** Aliases under yaml's count limit can still expand a small file into a huge config: refuse that. */
export function checkResolvedSize(data: unknown, what: string): void {
  const bytes = Buffer.byteLength(JSON.stringify(data) ?? '')
  if (bytes > MAX_RESOLVED_CONFIG_BYTES) {
    throw new ConfigError(`${what} expands to ${(bytes / 1024 / 1024).toFixed(1)} MB (aliases resolved); a config may hold at most ${MAX_RESOLVED_CONFIG_BYTES / 1024 / 1024} MB.`, {
      code: 'CONFIG_TOO_LARGE',
      hint: 'Aliases (*name) copy their value each time; put large data in a dataset folder and name it in the config.',
    })
  }
}

/** The first key that occurs twice in one mapping, by one hash set per mapping (linear). */
function firstDuplicateKey(document: ReturnType<typeof parseDocument>, text: string): {key: string; line: number; column: number} | undefined {
  let found: {key: string; line: number; column: number} | undefined
  visit(document, {
    Map(_, map) {
      if (!isMap(map)) return
      const seen = new Set<string>()
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined
        if (key === undefined) continue
        if (seen.has(key)) {
          const offset = isScalar(pair.key) ? (pair.key.range?.[0] ?? 0) : 0
          found = {key, ...lineColumn(text, offset)}
          return visit.BREAK
        }
        seen.add(key)
      }
    },
  })
  return found
}

function lineColumn(text: string, offset: number): {line: number; column: number} {
  let line = 1
  let last = -1
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++
    last = i
  }
  return {line, column: offset - last}
}
