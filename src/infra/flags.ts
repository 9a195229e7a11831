/** Flags of the `rfm infra` commands. Light on purpose: commands import this module eagerly. */
import {Flags} from '../vendor/oclif-core'

import {profileFlag} from '../cli/base-command'

export const stackFlags = {
  stack: Flags.string({description: 'Stack name (default: the profile name). One stack per account, region and purpose.', helpValue: 'NAME'}),
  'backend-url': Flags.string({
    description: 'Where Pulumi keeps the stack state (default: $PULUMI_BACKEND_URL, else file://$RFM_HOME/infra/state). E.g. s3://my-state-bucket.',
    helpValue: 'URL',
  }),
  profile: profileFlag,
}

export const configFlags = {
  config: Flags.string({char: 'c', description: 'Stack config file (YAML or JSON); keys as in the stack config reference.', helpValue: 'FILE'}),
  set: Flags.string({description: 'Override a stack config key (repeatable), e.g. --set rootVolumeGiB=300.', helpValue: 'KEY=VALUE', multiple: true}),
  region: Flags.string({description: "AWS region (default: the stack's, else the profile's, else $AWS_REGION).", helpValue: 'REGION'}),
  'gpu-families': Flags.string({
    description: 'GPU families, one spot compute environment each, tried in this order (comma-separated): g4dn, g5, g6, g6e, gr6, p3, p4d, p4de, p5, p5e.',
    helpValue: 'LIST',
    multiple: true,
  }),
  'max-vcpus': Flags.string({description: 'Max vCPUs of each spot environment (N), or of one family (FAMILY=N); repeatable.', helpValue: 'N|FAMILY=N', multiple: true}),
  'on-demand-max-vcpus': Flags.integer({description: 'Max vCPUs of the on-demand environment.', helpValue: 'N'}),
  'on-demand-fallback': Flags.boolean({description: 'Let the spot queue fall back to on-demand instances (--no-on-demand-fallback: spot only).', allowNo: true}),
  'log-retention-days': Flags.integer({description: 'Retention of the job log group (a CloudWatch retention value, e.g. 30).', helpValue: 'DAYS'}),
  secret: Flags.string({
    description: 'Environment variable every job gets from Secrets Manager or SSM: NAME=ARN or NAME=/ssm/parameter (repeatable). Never the value itself.',
    helpValue: 'NAME=REF',
    multiple: true,
  }),
  'budget-usd': Flags.integer({description: 'Monthly cost budget in USD, with e-mail alerts (needs --budget-email).', helpValue: 'USD'}),
  'budget-email': Flags.string({description: 'Address for budget alerts (repeatable).', helpValue: 'EMAIL', multiple: true}),
}

export type StackFlagValues = {stack?: string; 'backend-url'?: string; profile?: string}
export type ConfigFlagValues = {
  config?: string
  set?: string[]
  region?: string
  'gpu-families'?: string[]
  'max-vcpus'?: string[]
  'on-demand-max-vcpus'?: number
  'on-demand-fallback'?: boolean
  'log-retention-days'?: number
  secret?: string[]
  'budget-usd'?: number
  'budget-email'?: string[]
}
