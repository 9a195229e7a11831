import {Flags} from '../../vendor/oclif-core'

import {RfmCommand} from '../../cli/base-command'
import {refreshCatalog, type RefreshResult} from '../../scheduler/refresh'

const list = (value?: string) =>
  value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean)

export default class Refresh extends RfmCommand {
  static override summary = 'Read current GPU instance shapes, spot and on-demand prices from AWS into the local catalog.'
  static override description =
    'Calls EC2 DescribeInstanceTypes and DescribeSpotPriceHistory in each region and the Pricing API (from us-east-1), and writes the result under RFM_HOME, where it overrides the shipped snapshot. Needs AWS credentials allowed ec2:DescribeInstanceTypes, ec2:DescribeSpotPriceHistory and pricing:GetProducts.'
  static override examples = ['<%= config.bin %> catalog refresh', '<%= config.bin %> catalog refresh --regions us-east-1 --families g5,g6e']
  static override flags = {
    regions: Flags.string({description: 'Comma-separated regions (default: those of the shipped catalog).', helpValue: 'LIST'}),
    families: Flags.string({description: 'Comma-separated instance families (default: g4dn,g5,g6,g6e,p3,p3dn,p4d,p4de,p5).', helpValue: 'LIST'}),
  }

  async run(): Promise<RefreshResult> {
    const {flags} = await this.parse(Refresh)
    const result = await refreshCatalog({regions: list(flags.regions), families: list(flags.families)})
    this.log(
      `Catalog refreshed (${result.regions.join(', ')}): ${result.instanceTypes} instance types, ${result.spotPrices} spot and ${result.onDemandPrices} on-demand prices.\nWritten to ${result.file}`,
    )
    if (result.skipped.length) this.log(`Skipped (no throughput figure for their GPU): ${result.skipped.join(', ')}`)
    return result
  }
}
