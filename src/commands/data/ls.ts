import {Flags} from '../../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../../cli/base-command'
import {table} from '../../cli/render'
import {formatBytes, listNameEntries, type NameEntry} from '../../staging'
import {storeForProfile} from '../../staging/profile-store'

export default class Ls extends RfmCommand {
  static override summary = 'List staged datasets: name, reference, files, size, when staged.'
  static override examples = ['<%= config.bin %> data ls', '<%= config.bin %> data ls --name robot-vqa --json']
  static override flags = {
    name: Flags.string({description: 'Only versions of this dataset.', helpValue: 'NAME'}),
    profile: profileFlag,
  }

  async run(): Promise<{datasets: NameEntry[]}> {
    const {flags} = await this.parse(Ls)
    const store = await storeForProfile(flags.profile)
    const datasets = (await listNameEntries(store)).filter((e) => !flags.name || e.name === flags.name)
    if (datasets.length === 0) this.log(`No datasets${flags.name ? ` named ${flags.name}` : ''} in ${store.url}. Stage one with: rfm data stage PATH`)
    else
      this.log(
        table(
          ['REF', 'FILES', 'SIZE', 'STAGED', 'SOURCE'],
          datasets.map((d) => [d.ref, String(d.files), formatBytes(d.bytes), d.stagedAt.replace('T', ' ').slice(0, 19), d.source]),
        ),
      )
    return {datasets}
  }
}
