/**
 * What plugin commands share, kept once in the host: reading a config file against a plugin's
 * schema, rendering an error the way rfm does (message + hint; `{"error"}` under --json; exit 2
 * for user mistakes), and running rfm's own CLI. Plugins reach it as `api.commands`.
 */
import {execFile} from 'node:child_process'
import * as path from 'node:path'

import {ConfigError} from '../errors'

/** The part of a zod schema this needs (a plugin's zod is the host's). */
export interface SafeParser<T> {
  safeParse(value: unknown): {success: true; data: T} | {success: false; error: {issues: {path: (string | number)[]; message: string}[]}}
}

/** The part of an oclif command this needs (`logJson` is protected there, so it is passed in). */
export interface ErrorRenderingCommand {
  jsonEnabled(): boolean
  exit(code?: number): never
}

export interface PluginCommandSupport {
  /** Parses a YAML/JSON config file against `schema`; errors name the file or the key (`hint` says where the keys are documented). */
  readConfigFile<T>(file: string, schema: SafeParser<T>, hint: string): Promise<{config: T; baseDir: string}>
  /** The body of a plugin command's `catch`: renders the error and sets the exit code. */
  handleError(command: ErrorRenderingCommand, logJson: (json: unknown) => void, error: Error): unknown
  /** Runs this rfm's CLI with `args` and `--json` (e.g. `ckpt pull`): its exit code and parsed output (undefined when not JSON). */
  runRfm(args: string[]): Promise<{code: number; json: any}>
}

/** An error that names a config key (dotted path), rendered like schema errors. */
export function configErrorAt(where: string, message: string, hint?: string): ConfigError {
  return new ConfigError(`Config error at ${where}: ${message}.`, {hint, details: {path: where, reason: message}})
}

export const pluginCommandSupport: PluginCommandSupport = {
  async readConfigFile(file, schema, hint) {
    const full = path.resolve(file)
    // the same reading as rfm's own configs: size limits, UTF-8, FIFOs, YAML bombs, duplicate keys
    const {loadConfigFile} = await import('../config/load.js')
    const raw = await loadConfigFile(full)
    const parsed = schema.safeParse(raw)
    if (!parsed.success) {
      // described in rfm's words (expected/got, did-you-mean), not zod's
      const {validateConfig} = await import('../config/validate.js')
      validateConfig(schema as never, raw, full, {reference: hint})
      const issue = parsed.error.issues[0]
      throw configErrorAt(issue.path.join('.') || '(root)', issue.message, hint)
    }
    return {config: parsed.data, baseDir: path.dirname(full)}
  },

  handleError(command, logJson, error) {
    const e = error as Error & {exitCode?: number; hint?: string; toJSON?: () => unknown; code?: string; oclif?: {exit?: number}}
    if (e.code === 'EEXIT') throw error
    const known = typeof e.toJSON === 'function' && typeof e.exitCode === 'number'
    const exitCode = known ? e.exitCode! : e.oclif?.exit === 2 ? 2 : 1
    process.exitCode = exitCode
    if (command.jsonEnabled()) {
      logJson({error: known ? e.toJSON!() : {name: e.name, code: exitCode === 2 ? 'USAGE' : 'INTERNAL', message: e.message, exitCode}})
      return undefined
    }
    process.stderr.write(`Error: ${e.message}\n${e.hint ? `Hint: ${e.hint}\n` : ''}`)
    return command.exit(exitCode)
  },

  runRfm(args) {
    // this file is dist/src/plugin-api/commands.js; the host's launcher is bin/run.js at its root
    const bin = path.join(__dirname, '..', '..', '..', 'bin', 'run.js')
    return new Promise((resolve) => {
      execFile(process.execPath, [bin, ...args, '--json'], {maxBuffer: 64 << 20}, (error, stdout) => {
        let json: any
        try {
          json = JSON.parse(stdout)
        } catch {
          json = undefined
        }
        resolve({code: error ? Number((error as {code?: number}).code ?? 1) : 0, json})
      })
    })
  },
}
