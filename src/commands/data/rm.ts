import {Args} from '../../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../../cli/base-command'
import {removeDataset, type RemoveResult} from '../../staging'
import {storeForProfile} from '../../staging/profile-store'

export default class Rm extends RfmCommand {
  static override summary = "Remove a dataset's name and manifest (its file objects are freed later by rfm data gc)."
  static override description = `The manifest stays while another name or a recorded run still refers to the same content; the name is removed either way.`
  static override examples = ['<%= config.bin %> data rm ds:robot-vqa@3f2a9c01b7de']
  static override args = {ref: Args.string({required: true, description: 'ds:NAME@HASH, ds:NAME (newest version) or a hash prefix (all its names).'})}
  static override flags = {profile: profileFlag}

  async run(): Promise<RemoveResult> {
    const {args, flags} = await this.parse(Rm)
    const store = await storeForProfile(flags.profile)
    const result = await removeDataset(store, args.ref)
    this.log(`Removed ${result.ref}. ` + (result.manifestRemoved ? 'Its objects are deleted by rfm data gc once no other dataset uses them.' : `The manifest was kept: ${result.keptBecause}.`))
    return result
  }
}
