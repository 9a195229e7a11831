import {Flags} from '../../vendor/oclif-core'

import {RfmCommand} from '../../cli/base-command'
import {UsageError} from '../../errors'
import {stackFlags} from '../../infra/flags'
import type {InfraResult} from '../../infra/run'

export default class Destroy extends RfmCommand {
  static override summary = 'Delete every resource of the stack, and remove its keys from the profile.'
  static override description = `The bucket is only deleted when it is empty, unless the stack was created with forceDestroyBucket: copy what you want to keep first. The profile's stack keys are removed, and its backend and store fall back to rfm's local defaults when they pointed at the stack's bucket.`
  static override examples = ['<%= config.bin %> infra destroy --profile aws --yes']
  static override flags = {
    ...stackFlags,
    yes: Flags.boolean({char: 'y', description: 'Confirm: destroy the stack.'}),
  }

  async run(): Promise<InfraResult> {
    const {flags} = await this.parse(Destroy)
    if (!flags.yes) {
      throw new UsageError("rfm infra destroy deletes the stack's bucket, queues and roles: confirm with --yes.", {
        hint: 'Run rfm infra preview first to see what the stack holds, then rfm infra destroy --yes.',
      })
    }
    const {executeInfra, renderResult} = await import('../../infra/command.js')
    const result = await executeInfra('destroy', flags, this.jsonEnabled())
    this.log(renderResult(result))
    return result
  }
}
