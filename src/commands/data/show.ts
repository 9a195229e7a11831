import {Args, Flags} from '../../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../../cli/base-command'
import {table} from '../../cli/render'
import {formatBytes, readManifest, resolveRef, viewOf, type DatasetView} from '../../staging'
import {storeForProfile} from '../../staging/profile-store'
import type {ManifestFile, ManifestLink} from '../../staging/manifest'

export interface ShowResult {
  dataset: DatasetView
  files: ManifestFile[]
  links: ManifestLink[]
}

export default class Show extends RfmCommand {
  static override summary = 'Show a dataset: its reference, size, and the files in its manifest.'
  static override examples = ['<%= config.bin %> data show ds:robot-vqa', '<%= config.bin %> data show ds:robot-vqa@3f2a9c01b7de --files --json']
  static override args = {ref: Args.string({required: true, description: 'ds:NAME@HASH, ds:NAME (newest version) or a hash prefix.'})}
  static override flags = {
    files: Flags.boolean({description: 'List every file (default: the first 20).'}),
    profile: profileFlag,
  }

  async run(): Promise<ShowResult> {
    const {args, flags} = await this.parse(Show)
    const store = await storeForProfile(flags.profile)
    const resolved = await resolveRef(store, args.ref)
    const manifest = await readManifest(store, resolved.hash)
    const dataset = viewOf(resolved.hash, manifest, resolved.entry)
    const lines = [
      `Dataset   ${dataset.ref}`,
      `Hash      ${dataset.hash}`,
      `Content   ${dataset.files} files, ${formatBytes(dataset.bytes)}${dataset.links ? `, ${dataset.links} link${dataset.links > 1 ? 's' : ''}` : ''} (${dataset.root === 'file' ? 'a single file' : 'a folder'})`,
      ...(dataset.stagedAt ? [`Staged    ${dataset.stagedAt}${dataset.source ? ` from ${dataset.source}` : ''}`] : []),
    ]
    this.log(lines.join('\n'))
    const shown = flags.files ? manifest.files : manifest.files.slice(0, 20)
    if (shown.length > 0) {
      this.log(
        '\n' +
          table(
            ['PATH', 'SIZE', 'SHA256', 'MODE'],
            shown.map((f) => [f.path, formatBytes(f.size), f.sha256.slice(0, 12), f.mode.toString(8)]),
          ),
      )
      if (shown.length < manifest.files.length) this.log(`… and ${manifest.files.length - shown.length} more (--files lists all)`)
    }
    for (const link of manifest.links) this.log(`${link.path} -> ${link.target}`)
    return {dataset, files: manifest.files, links: manifest.links}
  }
}
