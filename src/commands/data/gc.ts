import {Flags} from '../../vendor/oclif-core'

import {profileFlag, RfmCommand} from '../../cli/base-command'
import {parseDuration} from '../../config/duration'
import {UsageError} from '../../errors'
import {collectGarbage, formatBytes, type GcResult} from '../../staging'
import {storeForProfile} from '../../staging/profile-store'

export default class Gc extends RfmCommand {
  static override summary = 'Delete stored file objects that no dataset manifest lists.'
  static override description = `Objects younger than --min-age are kept, because a staging run in progress uploads objects before it writes its manifest. Do not remove a dataset and stage the same content while gc runs.`
  static override examples = ['<%= config.bin %> data gc --dry-run', '<%= config.bin %> data gc --min-age 0']
  static override flags = {
    'dry-run': Flags.boolean({description: 'Count what would be deleted, delete nothing.'}),
    'min-age': Flags.string({description: 'Keep unreferenced objects younger than this (e.g. 30m, 2h, 0).', default: '1h', helpValue: 'DURATION'}),
    profile: profileFlag,
  }

  async run(): Promise<GcResult> {
    const {flags} = await this.parse(Gc)
    const minAge = flags['min-age'] === '0' ? 0 : parseDuration(flags['min-age'])
    if (minAge === undefined) throw new UsageError(`--min-age ${flags['min-age']} is not a duration.`, {hint: 'Use e.g. 0, 90s, 30m, 2h or 1d.'})
    const store = await storeForProfile(flags.profile)
    const result = await collectGarbage(store, {dryRun: flags['dry-run'], minAgeMs: minAge * 1000})
    this.log(
      `${result.dryRun ? 'Would delete' : 'Deleted'} ${result.deleted} object${result.deleted === 1 ? '' : 's'} (${formatBytes(result.deletedBytes)}); ` +
        `${result.kept} in use by ${result.manifests} dataset${result.manifests === 1 ? '' : 's'}` +
        (result.tooYoung ? `; ${result.tooYoung} unreferenced but younger than ${flags['min-age']} kept` : '') +
        (result.stagingInProgress ? `; ${result.keptForStaging} unreferenced kept because ${result.stagingInProgress} staging run(s) are in progress` : '') +
        (result.leftovers ? `; ${result.dryRun ? 'would remove' : 'removed'} ${result.leftovers} leftover(s) of killed writes (${formatBytes(result.leftoverBytes)})` : '') +
        '.',
    )
    return result
  }
}
