/**
 * The stack config a command uses: the config last applied to the stack, then a config file, then
 * flags, then `--set` overrides, validated by the program's zod schema. Starting from the last
 * applied config matters: `rfm infra up` without flags must not quietly drop a GPU family.
 */
import {promises as fs} from 'node:fs'
import * as path from 'node:path'

import {infraConfigSchema, SECRET_REFERENCE, type InfraConfig, type InfraConfigInput, type InfraOutputs} from '../../infra/config'
import {rfmHome} from '../config/home'
import {applyOverrides, type Override} from '../config/overrides'
import type {Profile} from '../config/profiles'
import {validateConfig} from '../config/validate'
import {ConfigError, UsageError} from '../errors'

export const PROJECT_NAME = 'rfm'

export interface StackConfigSources {
  stack: string
  /** the config saved by the last successful `up` of this stack */
  previous?: Record<string, unknown>
  /** a config file's content (-c) */
  file?: Record<string, unknown>
  /** dedicated flags; undefined where not given */
  flags?: Partial<InfraConfigInput>
  overrides?: Override[]
  profile?: Pick<Profile, 'region'>
  env?: NodeJS.ProcessEnv
}

export function resolveStackConfig(sources: StackConfigSources): InfraConfig {
  const defined = (values: Record<string, unknown> = {}) => Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined))
  // Keys of stacks applied by an older rfm whose features are gone (multi-node jobs, checkpoint
  // expiry that nothing tagged for): ignored, so those stacks still load.
  const {allowMultiNode: _multiNode, checkpointExpiryDays: _expiry, ...previous} = sources.previous ?? {}
  let merged: Record<string, unknown> = {...defined(previous), ...defined(sources.file), ...defined(sources.flags)}
  merged = applyOverrides(merged, sources.overrides ?? [])
  const env = sources.env ?? process.env
  merged.region ??= sources.profile?.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION
  if (merged.region === undefined) {
    throw new UsageError('No AWS region for the stack.', {
      hint: 'Pass --region us-east-1, or set it in the profile: rfm config set region us-east-1.',
    })
  }
  try {
    return validateConfig(infraConfigSchema, merged, `stack config "${sources.stack}"`)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    // validateConfig's fallback hint is about job kinds; point at the stack config's own reference.
    const key = String((error.details?.problems as Array<{path: string}> | undefined)?.[0]?.path ?? '').split('.')[0]
    const field = (infraConfigSchema.shape as Record<string, {description?: string}>)[key]
    const hint = field?.description ? `${key}: ${field.description}` : 'See rfm infra preview --help and the stack config keys in the README.'
    throw new ConfigError(error.message, {code: error.code, hint, details: error.details})
  }
}

/** `--max-vcpus 256` sets the default; `--max-vcpus g5=128` one family's limit. */
export function parseMaxVcpus(values: string[] = []): Pick<InfraConfigInput, 'maxVcpus' | 'defaultMaxVcpus'> {
  const result: {maxVcpus?: Record<string, number>; defaultMaxVcpus?: number} = {}
  for (const value of values) {
    const match = /^(?:([a-z0-9]+)=)?(\d+)$/.exec(value.trim())
    if (!match) {
      throw new UsageError(`--max-vcpus ${value}: expected a number (every family) or FAMILY=NUMBER.`, {hint: 'For example --max-vcpus 256 --max-vcpus p5=192.'})
    }
    if (match[1]) result.maxVcpus = {...result.maxVcpus, [match[1]]: Number(match[2])}
    else result.defaultMaxVcpus = Number(match[2])
  }
  return result as Pick<InfraConfigInput, 'maxVcpus' | 'defaultMaxVcpus'>
}

/** `--secret WANDB_API_KEY=arn:aws:secretsmanager:…` or `--secret HF_TOKEN=/rfm/hf-token` (an SSM parameter). */
export function parseSecrets(values: string[] = []): Array<{name: string; valueFrom: string}> {
  return values.map((value) => {
    const eq = value.indexOf('=')
    if (eq <= 0) {
      throw new UsageError(`--secret ${value}: expected NAME=REFERENCE (a Secrets Manager or SSM parameter ARN, or an SSM parameter name).`, {
        hint: 'The value itself never goes on the command line: store it in Secrets Manager or SSM and pass its reference.',
      })
    }
    const name = value.slice(0, eq)
    const valueFrom = value.slice(eq + 1)
    if (!SECRET_REFERENCE.test(valueFrom)) {
      // Not echoed: what was given may be the secret itself.
      throw new UsageError(`--secret ${name}=…: the value is not a Secrets Manager or SSM parameter reference.`, {
        hint: 'Store the secret in Secrets Manager or SSM and pass its ARN (or /parameter/name); the secret itself never goes into rfm or a job definition.',
      })
    }
    return {name, valueFrom}
  })
}

export function splitList(values: string[] | undefined): string[] | undefined {
  return values
    ?.flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean)
}

/** What rfm keeps locally about a stack: the config last applied and the outputs it produced. */
export interface SavedStack {
  stack: string
  config: InfraConfig
  outputs?: InfraOutputs
  updatedAt: string
}

export function infraDir(): string {
  return path.join(rfmHome(), 'infra')
}

export function savedStackPath(stack: string): string {
  return path.join(infraDir(), 'stacks', `${encodeURIComponent(stack)}.json`)
}

export async function readSavedStack(stack: string): Promise<SavedStack | undefined> {
  try {
    return JSON.parse(await fs.readFile(savedStackPath(stack), 'utf8')) as SavedStack
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

export async function saveStack(saved: SavedStack): Promise<void> {
  const file = savedStackPath(saved.stack)
  await fs.mkdir(path.dirname(file), {recursive: true})
  await fs.writeFile(`${file}.tmp`, JSON.stringify(saved, null, 2) + '\n')
  await fs.rename(`${file}.tmp`, file)
}

export async function removeSavedStack(stack: string): Promise<void> {
  await fs.rm(savedStackPath(stack), {force: true})
}
