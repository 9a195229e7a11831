import {promises as fs} from 'node:fs'
import * as path from 'node:path'
import {parseDocument} from 'yaml'

import {ConfigError} from '../errors'

/** Reads a YAML or JSON config file into plain data; syntax errors name the line and column. */
export async function loadConfigFile(file: string): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const what = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code})`
    throw new ConfigError(`Config file ${file} ${what}.`, {
      code: 'CONFIG_FILE',
      hint: 'Pass the path of a YAML or JSON file with --config, relative to the current directory.',
      details: {file},
    })
  }
  const document = parseDocument(text, {prettyErrors: true, uniqueKeys: true})
  const problem = document.errors[0]
  if (problem) {
    const [line, column] = problem.linePos?.[0] ? [problem.linePos[0].line, problem.linePos[0].col] : [undefined, undefined]
    const where = line === undefined ? '' : ` at line ${line}, column ${column}`
    const reason = problem.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '').replace(/\.$/, '')
    throw new ConfigError(`Config file ${file} is not valid ${path.extname(file) === '.json' ? 'JSON' : 'YAML'}${where}: ${reason}.`, {
      code: 'CONFIG_SYNTAX',
      hint: 'Check indentation, quotes and brackets around that line.',
      details: {file, line, column},
    })
  }
  const data: unknown = document.toJS()
  if (data === null || data === undefined) return {}
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`Config file ${file} must hold a mapping of keys to values, not ${Array.isArray(data) ? 'a list' : 'a single value'}.`, {
      code: 'CONFIG_SYNTAX',
      hint: 'Start the file with keys such as `command:` or `model:`.',
      details: {file},
    })
  }
  return data as Record<string, unknown>
}
