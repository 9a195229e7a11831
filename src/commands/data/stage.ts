import {Args, Flags} from '../../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../../cli/base-command'
import {formatBytes, progressMode, stageTree, type StageResult} from '../../staging'
import {storeForProfile} from '../../staging/profile-store'

export default class Stage extends RfmCommand {
  static override summary = 'Upload a file or folder to the store, content-addressed, and print its dataset reference.'
  static override description = `Each file is stored once by its sha256 under objects/, and a manifest (paths, sizes, hashes, modes, links inside the tree) under datasets/<manifest-sha256>/. Files the store already has are not uploaded again, so staging an unchanged tree takes seconds and an interrupted stage resumes where it stopped. Use the printed ds:NAME@HASH in a config in place of the local path. Symlinks inside the tree are stored as links; symlinks that leave the tree are refused.`
  static override examples = ['<%= config.bin %> data stage ./robot-vqa --name robot-vqa', '<%= config.bin %> data stage ./episodes.tar --json']
  static override args = {path: Args.string({required: true, description: 'File or folder to stage.'})}
  static override flags = {
    name: Flags.string({description: 'Dataset name (default: the folder or file name).', helpValue: 'NAME'}),
    concurrency: Flags.integer({description: 'Parallel uploads (default 32 on S3, 4 on a file store).', min: 1, max: 256}),
    full: Flags.boolean({description: 'Check every object in the store even when the tree and its manifest are unchanged.'}),
    profile: profileFlag,
  }

  async run(): Promise<StageResult> {
    const {args, flags} = await this.parse(Stage)
    const store = await storeForProfile(flags.profile)
    const result = await stageTree(store, args.path, {name: flags.name, concurrency: flags.concurrency, full: flags.full, progress: progressMode(this.jsonEnabled())})
    this.log(result.ref)
    this.log(
      `  ${result.files} files, ${formatBytes(result.bytes)}: uploaded ${result.uploadedFiles} (${formatBytes(result.uploadedBytes)}), ` +
        `${result.skippedFiles} already in ${store.url}, in ${result.seconds.toFixed(1)}s` +
        (result.links ? `; ${result.links} symlink${result.links > 1 ? 's' : ''} stored as links` : ''),
    )
    return result
  }
}
