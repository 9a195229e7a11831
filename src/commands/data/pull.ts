import {Args, Flags} from '../../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../../cli/base-command'
import {formatBytes, progressMode, pullDataset, type PullResult} from '../../staging'
import {storeForProfile} from '../../staging/profile-store'

export default class Pull extends RfmCommand {
  static override summary = 'Download a dataset into a folder, verifying the sha256 of every file.'
  static override description = `Each file is written to a temporary name and moved into place only when its hash matches the manifest; a mismatch is an error. Files already in DIR with the right content are kept. Nothing is ever written outside DIR.`
  static override examples = ['<%= config.bin %> data pull ds:robot-vqa@3f2a9c01b7de ./data']
  static override args = {
    ref: Args.string({required: true, description: 'ds:NAME@HASH, ds:NAME (newest version) or a hash prefix.'}),
    dir: Args.string({required: true, description: 'Destination folder (created if missing).'}),
  }
  static override flags = {
    concurrency: Flags.integer({description: 'Parallel downloads (default 32 on S3, 4 on a file store).', min: 1, max: 256}),
    profile: profileFlag,
  }

  async run(): Promise<PullResult> {
    const {args, flags} = await this.parse(Pull)
    const store = await storeForProfile(flags.profile)
    const result = await pullDataset(store, args.ref, args.dir, {concurrency: flags.concurrency, progress: progressMode(this.jsonEnabled())})
    this.log(
      `Pulled ${result.ref} into ${result.dir}: ${result.files} files verified (${result.downloadedFiles} downloaded, ${formatBytes(result.downloadedBytes)}; ${result.unchangedFiles} already there)` +
        (result.links ? `, ${result.links} link${result.links > 1 ? 's' : ''}` : '') +
        '.',
    )
    return result
  }
}
