import {RfmCommand} from '../../cli/base-command'
import {listProfiles} from '../../config/profiles'

export default class Profiles extends RfmCommand {
  static override summary = 'List profiles; the active one is marked with *.'
  static override examples = ['<%= config.bin %> config profiles']

  async run(): Promise<{active: string; profiles: string[]}> {
    await this.parse(Profiles)
    const {active, names} = await listProfiles()
    for (const name of names) this.log(`${name === active ? '*' : ' '} ${name}`)
    return {active, profiles: names}
  }
}
