import {RfmCommand} from '../../cli/base-command'
import {configFlags, stackFlags} from '../../infra/flags'
import type {InfraResult} from '../../infra/run'

export default class Preview extends RfmCommand {
  static override summary = 'Show what `rfm infra up` would create, change or delete in the stack.'
  static override description = `Runs the rfm Pulumi program (S3 bucket, ECR repositories, spot and on-demand Batch compute environments, job queues, job definitions, IAM, logs) through the Pulumi Automation API and prints the plan. The stack config starts from what the last \`rfm infra up\` applied, then a config file (-c), flags and --set. Needs the Pulumi CLI and AWS credentials.`
  static override examples = [
    '<%= config.bin %> infra preview --region us-east-1 --gpu-families g5,g6e --max-vcpus 256',
    '<%= config.bin %> infra preview --profile aws --secret WANDB_API_KEY=arn:aws:secretsmanager:us-east-1:123456789012:secret:wandb',
  ]
  static override flags = {...stackFlags, ...configFlags}

  async run(): Promise<InfraResult> {
    const {flags} = await this.parse(Preview)
    const {executeInfra, renderResult} = await import('../../infra/command.js')
    // A job definition per registered kind (rfm's own and the installed plugins'), plus default.
    const {loadKinds} = await import('../../jobs/registry.js')
    const kinds = [...(await loadKinds(this.config.getPluginsList())).keys()]
    const result = await executeInfra('preview', flags, this.jsonEnabled(), kinds)
    this.log(renderResult(result))
    return result
  }
}
