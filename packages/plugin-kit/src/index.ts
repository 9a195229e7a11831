/**
 * The runtime kit of rfm plugins. `RfmPluginCommand` is the one base of plugin commands: it reaches
 * the host CLI's plugin API through the host package's declared `exports` entry `rfm/plugin-host`
 * (resolved from the running CLI's root, so whichever rfm loads the plugin serves it, whatever its
 * build layout), gives `-c/--config FILE` and `--set key=value` read the way `rfm cloud launch`
 * reads them (file < --set), and renders errors like rfm's own commands (message + hint, exit 2
 * for user mistakes, `{"error"}` under --json).
 */
import {createRequire} from 'node:module'
import * as path from 'node:path'

import {Command, Flags} from '@oclif/core'
import type {PluginApi, SafeParser} from '@rfm/plugin-api'

/** The host's plugin API: `rfm/plugin-host` resolved as the host package itself sees it (package self-reference). */
export function hostApi(root: string): PluginApi {
  return hostRequire(root)('rfm/plugin-host').pluginApi as PluginApi
}

/** The file of a host module the host's package.json exports (e.g. `rfm/formats`, for worker threads that load it themselves). */
export function hostModuleFile(root: string, specifier: string): string {
  return hostRequire(root).resolve(specifier)
}

const hostRequire = (root: string) => createRequire(path.join(root, 'package.json'))

/** `-c/--config FILE` and `--set KEY=VALUE` (repeatable), as on `rfm cloud launch`. */
export const configFlags = {
  config: Flags.string({char: 'c', description: 'Config file (YAML or JSON).', helpValue: 'FILE'}),
  set: Flags.string({description: 'Override a config key (repeatable); the value is YAML: --set data.ratio=[0.7,0.3]. Precedence: file < --set.', helpValue: 'KEY=VALUE', multiple: true}),
}

export abstract class RfmPluginCommand extends Command {
  static override enableJsonFlag = true

  private cachedApi?: PluginApi

  /** The host CLI's plugin API (the same object a plugin's job-kinds module receives). */
  get api(): PluginApi {
    this.cachedApi ??= hostApi(this.config.root)
    return this.cachedApi
  }

  /**
   * A config as `rfm cloud launch` reads one: `file` (a positional argument or -c), then each --set
   * in order, validated against `schema`; errors name the file or the key, `hint` says where the
   * keys are documented. A config must come from somewhere: a file or at least one --set.
   */
  async readConfig<T>(source: {file?: string; sets?: string[]}, schema: SafeParser<T>, hint: string): Promise<{config: T; baseDir: string}> {
    if (source.file === undefined && (source.sets ?? []).length === 0) {
      throw new this.api.errors.UsageError('Missing the config: give a config file (-c FILE) or --set KEY=VALUE flags.', {hint: `See rfm ${this.id?.replaceAll(':', ' ') ?? ''} --help.`})
    }
    return this.api.commands.readConfig(source, schema, hint)
  }

  /** The file of a module the host's package.json exports (e.g. `rfm/formats`), for worker threads that load it themselves. */
  hostModuleFile(specifier: string): string {
    return hostModuleFile(this.config.root, specifier)
  }

  /** A flag value (a string flag, so seed-script spellings pass through) that must be an integer ≥ min; the error names the flag. */
  integerFlag(flag: string, raw: string | undefined, fallback: number, min: number): number {
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (raw.trim() === '' || !Number.isInteger(value) || value < min) throw new this.api.errors.UsageError(`--${flag} must be an integer ≥ ${min} (got '${raw}').`)
    return value
  }

  /** Progress of a long run: one updating line on a terminal, a line every few seconds otherwise; nothing under --json. */
  progressReporter(what: string): (p: {done: number; total: number}) => void {
    if (this.jsonEnabled()) return () => undefined
    const started = Date.now()
    let lastPrinted = 0
    const tty = process.stderr.isTTY
    return ({done, total}) => {
      const now = Date.now()
      if (done < total && now - lastPrinted < (tty ? 200 : 5000)) return
      lastPrinted = now
      const rate = done / Math.max(0.001, (now - started) / 1000)
      const line = `${what}: ${done}/${total} (${((100 * done) / total).toFixed(0)}%), ${rate.toFixed(0)}/s`
      if (tty) process.stderr.write(`\r${line}${done === total ? '\n' : ''}`)
      else process.stderr.write(`${line}\n`)
    }
  }

  protected override async catch(error: Error): Promise<unknown> {
    return this.api.commands.handleError(this, (json) => this.logJson(json), error)
  }
}
