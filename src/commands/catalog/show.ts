import {Flags} from '../../vendor/oclif-core'

import {RfmCommand} from '../../cli/base-command'
import {NotFoundError} from '../../errors'
import {table} from '../../cli/render'
import {ageDays, hourlyPrice, loadCatalog, maxAgeDays, priceDate} from '../../scheduler/catalog'
import {interruptionRate, loadInterruptions} from '../../scheduler/interruptions'

export interface CatalogRow {
  instanceType: string
  gpuModel: string
  gpus: number
  gpuMemoryGiB: number
  vcpus: number
  memoryGiB: number
  onDemand: number
  spot: number
  spotEstimated: boolean
  interruptionBucket: string
  priceDate: string
}

export interface CatalogView {
  region: string
  source: string
  retrievedAt: string
  ageDays: number
  stale: boolean
  maxAgeDays: number
  instances: CatalogRow[]
}

export default class Show extends RfmCommand {
  static override summary = 'Show the instance catalog the planner uses: GPUs, prices and interruption buckets of one region.'
  static override examples = ['<%= config.bin %> catalog show', '<%= config.bin %> catalog show --region eu-west-1 --json']
  static override flags = {
    region: Flags.string({description: 'Region to show.', default: 'us-east-1'}),
  }

  async run(): Promise<CatalogView> {
    const {flags} = await this.parse(Show)
    const [catalog, interruptions] = await Promise.all([loadCatalog(), loadInterruptions()])
    const instances: CatalogRow[] = []
    for (const i of catalog.instances) {
      const onDemand = hourlyPrice(catalog, i, flags.region, 'on-demand')
      const spot = hourlyPrice(catalog, i, flags.region, 'spot')
      if (onDemand === undefined || spot === undefined) continue
      instances.push({
        instanceType: i.type,
        gpuModel: i.gpuModel,
        gpus: i.gpus,
        gpuMemoryGiB: i.gpuMemoryGiB,
        vcpus: i.vcpus,
        memoryGiB: i.memoryGiB,
        onDemand,
        spot: Math.round(spot * 10_000) / 10_000,
        spotEstimated: i.spot?.[flags.region] === undefined,
        interruptionBucket: interruptionRate(interruptions, i.type, i.family, flags.region).bucket,
        priceDate: priceDate(catalog, i).slice(0, 10),
      })
    }
    if (instances.length === 0) {
      throw new NotFoundError(`The catalog prices no instance type in ${flags.region}.`, {
        hint: `Regions in the catalog: ${catalog.regions.join(', ')}. Add one with rfm catalog refresh --regions ${flags.region}.`,
      })
    }
    const age = ageDays(catalog.retrievedAt)
    const view: CatalogView = {region: flags.region, source: catalog.source, retrievedAt: catalog.retrievedAt, ageDays: Math.floor(age), stale: age > maxAgeDays(), maxAgeDays: maxAgeDays(), instances}
    this.log(`Catalog: ${view.source}, ${view.retrievedAt.slice(0, 10)} (${view.ageDays} days old)${view.stale ? ' — stale: run rfm catalog refresh' : ''}; region ${view.region}\n`)
    this.log(
      table(
        ['INSTANCE', 'GPUS', 'VCPU', 'RAM', 'ON-DEMAND', 'SPOT', 'INTERRUPTIONS', 'PRICES OF'],
        instances.map((r) => [
          r.instanceType,
          `${r.gpus}×${r.gpuModel} ${r.gpuMemoryGiB}G`,
          String(r.vcpus),
          `${r.memoryGiB}G`,
          `$${r.onDemand.toFixed(3)}`,
          `$${r.spot.toFixed(3)}${r.spotEstimated ? '*' : ''}`,
          r.interruptionBucket,
          r.priceDate,
        ]),
      ),
    )
    if (instances.some((r) => r.spotEstimated)) this.log('\n* spot price estimated from the typical discount for the family')
    return view
  }
}
