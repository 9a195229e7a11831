/**
 * What the dataset commands add to the kit's command base (host API, config flags, errors rendered
 * like rfm's): the host's formats module and its file, integer flags, progress lines.
 */
import {hostModuleFile, RfmPluginCommand} from '@rfm/plugin-kit'

import {usageError} from './errors'
import type {Formats} from './formats'

export abstract class SftDatasetCommand extends RfmPluginCommand {
  /** The host's formats module, and its file (worker threads load it themselves): the host's `rfm/formats` export. */
  protected async formats(): Promise<{formats: Formats; file: string}> {
    const formats: Formats = await this.api.loadFormats()
    return {formats, file: hostModuleFile(this.config.root, 'rfm/formats')}
  }

  /** A flag value that must be an integer ≥ min; the error names the flag. */
  protected integer(flag: string, raw: string | undefined, fallback: number, min: number): number {
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (raw.trim() === '' || !Number.isInteger(value) || value < min) throw usageError(`--${flag} must be an integer ≥ ${min} (got '${raw}').`)
    return value
  }

  /** Progress for long runs: one updating line on a terminal, a line every few seconds otherwise; nothing under --json. */
  protected progressReporter(what: string): (p: {done: number; total: number}) => void {
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
}
