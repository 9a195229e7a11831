import {Args} from '../../vendor/oclif-core'

import {RfmCommand} from '../../cli/base-command'
import {useProfile} from '../../config/profiles'

export default class Use extends RfmCommand {
  static override summary = 'Make a profile the active one.'
  static override examples = ['<%= config.bin %> config use aws']
  static override args = {name: Args.string({required: true, description: 'Profile name.'})}

  async run(): Promise<{active: string}> {
    const {args} = await this.parse(Use)
    await useProfile(args.name)
    this.log(`Active profile: ${args.name}`)
    return {active: args.name}
  }
}
