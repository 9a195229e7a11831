/** Prices for the cost report: EC2 spot price history (DescribeSpotPriceHistory) and the catalog's on-demand prices. */
import {ec2Client} from '../backends/aws-batch/clients'
import {aws} from '../backends/aws-batch/errors'
import {loadCatalog} from '../scheduler/catalog'
import {regionOf, type PricePoint, type PriceSource} from './report'

export class AwsPriceSource implements PriceSource {
  private readonly spot = new Map<string, Promise<PricePoint[]>>()

  async spotHistory(instanceType: string, availabilityZone: string, start: Date, end: Date): Promise<PricePoint[]> {
    const key = `${instanceType}@${availabilityZone}@${start.getTime()}@${end.getTime()}`
    let found = this.spot.get(key)
    if (!found) {
      found = this.fetch(instanceType, availabilityZone, start, end)
      this.spot.set(key, found)
    }
    return found
  }

  private async fetch(instanceType: string, availabilityZone: string, start: Date, end: Date): Promise<PricePoint[]> {
    const {DescribeSpotPriceHistoryCommand} = await import('@aws-sdk/client-ec2')
    const client = await ec2Client(regionOf(availabilityZone))
    const points: PricePoint[] = []
    let NextToken: string | undefined
    do {
      const page = await aws('reading the spot price history', () =>
        client.send(
          new DescribeSpotPriceHistoryCommand({
            InstanceTypes: [instanceType as never],
            AvailabilityZone: availabilityZone,
            ProductDescriptions: ['Linux/UNIX'],
            StartTime: start,
            EndTime: end,
            NextToken,
          }),
        ),
      )
      for (const p of page.SpotPriceHistory ?? []) {
        if (p.Timestamp && p.SpotPrice) points.push({time: new Date(p.Timestamp).getTime(), price: Number(p.SpotPrice)})
      }
      NextToken = page.NextToken || undefined
    } while (NextToken)
    return points
  }

  async instanceGpus(instanceType: string): Promise<number | undefined> {
    return (await loadCatalog()).instances.find((i) => i.type === instanceType)?.gpus
  }

  async startupSeconds(): Promise<number | undefined> {
    return (await loadCatalog()).startupSeconds
  }

  async onDemandPrice(instanceType: string, region: string): Promise<number | undefined> {
    const catalog = await loadCatalog()
    return catalog.instances.find((i) => i.type === instanceType)?.onDemand[region]
  }
}
