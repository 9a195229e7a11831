import {Flags} from '../../vendor/oclif-core'

import {RfmCommand} from '../../cli/base-command'
import {table} from '../../cli/render'

export interface PluginRow {
  name: string
  version: string
  type: string
  /** the job-kinds module a plugin declares in package.json (rfm.jobKinds) */
  jobKinds?: string
}

/**
 * Lists the first-party plugins (oclif core plugins) together with installed and linked ones.
 * Replaces oclif's own listing, which hides core plugins; install/link/uninstall stay oclif's.
 */
export default class Plugins extends RfmCommand {
  static override summary = 'List plugins: the first-party ones and those you installed or linked.'
  static override description = 'Install a third-party oclif plugin with rfm plugins install NAME, or link one you develop with rfm plugins link DIR.'
  static override examples = ['<%= config.bin %> plugins', '<%= config.bin %> plugins --json']
  static override flags = {all: Flags.boolean({description: "Also list oclif's own plugins (help, plugins)."})}

  async run(): Promise<{plugins: PluginRow[]}> {
    const {flags} = await this.parse(Plugins)
    const rows: PluginRow[] = this.config
      .getPluginsList()
      .filter((p) => p.type !== 'core' || p.name !== this.config.name)
      .filter((p) => flags.all || !p.name.startsWith('@oclif/'))
      .map((p) => {
        const kinds = (p.pjson as {rfm?: {jobKinds?: string}}).rfm?.jobKinds
        return {name: p.name, version: p.version, type: p.type, ...(kinds ? {jobKinds: kinds} : {})}
      })
    this.log(
      table(
        ['PLUGIN', 'VERSION', 'TYPE'],
        rows.map((r) => [r.name, r.version, r.type]),
      ),
    )
    return {plugins: rows}
  }
}
