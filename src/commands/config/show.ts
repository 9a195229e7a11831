import {profileFlag, RfmCommand} from '../../cli/base-command'
import {profilesPath, resolveProfile, type Profile} from '../../config/profiles'

export interface ProfileView {
  profile: string
  settings: Profile
  /** keys whose values are rfm's defaults rather than set in the profiles file */
  defaults: string[]
  file: string
}

export async function profileView(name?: string): Promise<ProfileView> {
  const resolved = await resolveProfile(name)
  return {profile: resolved.name, settings: resolved.profile, defaults: resolved.defaults, file: profilesPath()}
}

export function renderProfile(view: ProfileView): string {
  const lines = [`Profile ${view.profile} (${view.file})`]
  const width = Math.max(...Object.keys(view.settings).map((k) => k.length))
  for (const [key, value] of Object.entries(view.settings)) {
    const shown = typeof value === 'object' ? JSON.stringify(value) : String(value)
    lines.push(`  ${key.padEnd(width)} ${shown}${view.defaults.includes(key) ? '  (default)' : ''}`)
  }
  return lines.join('\n')
}

export default class Show extends RfmCommand {
  static override summary = 'Show the settings of a profile (the active one by default), defaults included.'
  static override examples = ['<%= config.bin %> config show', '<%= config.bin %> config show --profile aws --json']
  static override flags = {profile: profileFlag}

  async run(): Promise<ProfileView> {
    const {flags} = await this.parse(Show)
    const view = await profileView(flags.profile)
    this.log(renderProfile(view))
    return view
  }
}
