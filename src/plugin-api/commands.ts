/**
 * What plugin commands share, kept once in the host: reading a config (a file, then `--set`
 * overrides, the way `rfm cloud launch` does) against a plugin's schema, and rendering an error the
 * way rfm's own commands do (src/cli/errors.ts). Plugins reach it as `api.commands`, through the
 * command base of `@rfm/plugin-kit`.
 */
import * as path from 'node:path'

import {configErrorAt} from '../config/validate'
import {renderError, toRfmError} from '../cli/errors'
import type {PluginCommandSupport} from './index'

// kept in src/config (below src/jobs, which uses it too); re-exported for the host's API object
export {configErrorAt}

export const pluginCommandSupport: PluginCommandSupport = {
  async readConfigFile(file, schema, hint) {
    return pluginCommandSupport.readConfig({file}, schema, hint)
  },

  async readConfig({file, sets = [], cwd = process.cwd()}, schema, hint) {
    const full = file === undefined ? undefined : path.resolve(cwd, file)
    // the same reading as rfm's own configs: size limits, UTF-8, FIFOs, YAML bombs, duplicate keys
    const [{loadConfigFile, checkResolvedSize}, {applyOverrides, parseOverride}] = await Promise.all([import('../config/load.js'), import('../config/overrides.js')])
    const overrides = sets.map(parseOverride)
    const fromFile = full ? await loadConfigFile(full) : {}
    // precedence as in rfm cloud launch: file < --set (in order)
    const raw = overrides.length > 0 ? applyOverrides(fromFile, overrides) : fromFile
    const where = full ? (overrides.length > 0 ? `${full} (with --set)` : full) : '--set flags'
    if (overrides.length > 0) checkResolvedSize(raw, full ? 'The config (with --set)' : 'The --set flags')
    const parsed = schema.safeParse(raw)
    if (!parsed.success) {
      // described in rfm's words (expected/got, did-you-mean), not zod's
      const {validateConfig} = await import('../config/validate.js')
      validateConfig(schema as never, raw, where, {reference: hint})
      const issue = parsed.error.issues[0]
      throw configErrorAt(issue.path.join('.') || '(root)', issue.message, hint)
    }
    return {config: parsed.data, baseDir: full ? path.dirname(full) : cwd}
  },

  handleError(command, logJson, error) {
    if ((error as {code?: string}).code === 'EEXIT') throw error
    // the host's one handler (src/cli/errors.ts): a plugin's copy of an rfm error renders like the host's
    const rfmError = toRfmError(error, command.id)
    process.exitCode = rfmError.exitCode
    if (command.jsonEnabled()) {
      logJson({error: rfmError.toJSON()})
      return undefined
    }
    process.stderr.write(renderError(rfmError, Boolean(process.stderr.isTTY) && !process.env.NO_COLOR))
    return command.exit(rfmError.exitCode)
  },
}
