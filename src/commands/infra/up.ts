import {RfmCommand} from '../../cli/base-command'
import {configFlags, stackFlags} from '../../infra/flags'
import type {InfraResult} from '../../infra/run'

export default class Up extends RfmCommand {
  static override summary = 'Create or update the stack, then point the profile at it.'
  static override description = `Deploys the rfm Pulumi program through the Pulumi Automation API, streaming its progress. On success the stack outputs (bucket, queues, job definitions, repositories, log group, job role) are written into the profile, with backend aws-batch and store s3://<bucket>, so \`rfm cloud launch\` uses the stack. The applied config is kept, so a later \`rfm infra up\` without flags changes nothing. Needs the Pulumi CLI and AWS credentials.`
  static override examples = [
    '<%= config.bin %> infra up --profile aws --region us-east-1 --gpu-families g5,g6e,p5 --max-vcpus 256 --max-vcpus p5=192',
    '<%= config.bin %> infra up --no-on-demand-fallback --budget-usd 500 --budget-email me@example.com',
  ]
  static override flags = {...stackFlags, ...configFlags}

  async run(): Promise<InfraResult> {
    const {flags} = await this.parse(Up)
    const {executeInfra, renderResult} = await import('../../infra/command.js')
    // A job definition per registered kind (rfm's own and the installed plugins'), plus default.
    const {loadKinds} = await import('../../jobs/registry.js')
    const kinds = [...(await loadKinds(this.config.getPluginsList())).keys()]
    const result = await executeInfra('up', flags, this.jsonEnabled(), kinds)
    this.log(renderResult(result))
    return result
  }
}
