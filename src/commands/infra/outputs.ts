import {Flags} from '../../vendor/oclif-core'

import {RfmCommand} from '../../cli/base-command'
import {stackFlags} from '../../infra/flags'
import type {InfraResult} from '../../infra/run'

export default class Outputs extends RfmCommand {
  static override summary = 'Print the stack outputs (bucket, queues, job definitions, repositories); --save writes them into the profile.'
  static override examples = ['<%= config.bin %> infra outputs --profile aws', '<%= config.bin %> infra outputs --stack prod --profile aws --save --json']
  static override flags = {
    ...stackFlags,
    save: Flags.boolean({description: 'Write the outputs into the profile, as `rfm infra up` does.'}),
  }

  async run(): Promise<InfraResult> {
    const {flags} = await this.parse(Outputs)
    const {executeInfra, renderResult} = await import('../../infra/command.js')
    const result = await executeInfra('outputs', flags, this.jsonEnabled())
    this.log(renderResult(result))
    return result
  }
}
