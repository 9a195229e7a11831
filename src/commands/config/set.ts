import {Args, Flags} from '../../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../../cli/base-command'
import {listProfiles, PROFILE_KEYS, setProfileKey} from '../../config/profiles'
import {UsageError} from '../../errors'
import {profileView, renderProfile, type ProfileView} from './show'

export default class Set extends RfmCommand {
  static override summary = 'Set one key of a profile (creating the profile), or remove it with --unset.'
  static override description = `Keys: ${PROFILE_KEYS.join(', ')}. A profile that does not exist yet is created with rfm's defaults for the keys it does not set.`
  static override examples = [
    '<%= config.bin %> config set store file:///data/rfm-store',
    '<%= config.bin %> config set backend aws-batch --profile aws',
    '<%= config.bin %> config set region --unset --profile aws',
  ]
  static override args = {
    key: Args.string({required: true, description: `Profile key: ${PROFILE_KEYS.join(', ')}.`}),
    value: Args.string({description: 'New value (omit with --unset).'}),
  }
  static override flags = {
    unset: Flags.boolean({description: 'Remove the key, so its default applies again.'}),
    profile: profileFlag,
  }

  async run(): Promise<ProfileView> {
    const {args, flags} = await this.parse(Set)
    if (flags.unset === (args.value !== undefined)) {
      throw new UsageError(flags.unset ? '--unset takes no VALUE.' : `Missing VALUE for ${args.key}.`, {hint: 'Use rfm config set KEY VALUE, or rfm config set KEY --unset.'})
    }
    const name = flags.profile ?? process.env.RFM_PROFILE ?? (await listProfiles()).active
    await setProfileKey(name, args.key, flags.unset ? undefined : args.value)
    const view = await profileView(name)
    this.log(renderProfile(view))
    return view
  }
}
