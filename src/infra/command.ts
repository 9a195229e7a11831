/**
 * What the `rfm infra` commands share: which profile and stack they act on, the stack config from
 * flags, and the human rendering of results. Commands import this lazily (it reaches the program's
 * config schema); Pulumi itself is only loaded by run.ts once the CLI is known to exist.
 */
import {kindsFor, type InfraConfig, type InfraConfigInput, type InfraOutputs} from '../../infra/config'
import {loadConfigFile} from '../config/load'
import {parseOverride} from '../config/overrides'
import {listProfiles, resolveProfile, type Profile} from '../config/profiles'
import {NotFoundError, UsageError} from '../errors'
import type {ConfigFlagValues, StackFlagValues} from './flags'
import {runInfra, type InfraAction, type InfraResult} from './run'
import {parseMaxVcpus, parseSecrets, readSavedStack, resolveStackConfig, splitList} from './stack-config'

export interface Target {
  /** the profile that receives the outputs (created by `up` if it does not exist yet) */
  profileName: string
  profile?: Profile
  stack: string
}

export async function resolveTarget(flags: StackFlagValues): Promise<Target> {
  const profileName = flags.profile ?? process.env.RFM_PROFILE ?? (await listProfiles()).active
  let profile: Profile | undefined
  try {
    profile = (await resolveProfile(profileName)).profile
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error
  }
  const stack = flags.stack ?? profileName
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(stack)) {
    throw new UsageError(`--stack ${stack}: a stack name uses letters, digits, "-", "_" and "." only.`, {hint: 'For example --stack aws-us-east-1.'})
  }
  return {profileName, profile, stack}
}

/** The stack config: last applied ← config file ← flags ← --set, validated. */
export async function stackConfigFromFlags(target: Target, flags: ConfigFlagValues): Promise<InfraConfig> {
  const saved = await readSavedStack(target.stack)
  const previous = saved?.config as Record<string, unknown> | undefined
  const file = flags.config ? await loadConfigFile(flags.config) : undefined
  const budgetGiven = flags['budget-usd'] !== undefined || flags['budget-email'] !== undefined
  const previousBudget = (file?.budget ?? previous?.budget) as Partial<NonNullable<InfraConfigInput['budget']>> | undefined
  const flagValues: Partial<InfraConfigInput> = {
    region: flags.region,
    gpuFamilies: splitList(flags['gpu-families']) as InfraConfigInput['gpuFamilies'],
    ...parseMaxVcpus(flags['max-vcpus']),
    onDemandMaxVcpus: flags['on-demand-max-vcpus'],
    onDemandFallback: flags['on-demand-fallback'],
    logRetentionDays: flags['log-retention-days'],
    secrets: flags.secret ? parseSecrets(flags.secret) : undefined,
    budget: budgetGiven
      ? ({
          ...previousBudget,
          ...(flags['budget-usd'] === undefined ? {} : {monthlyUsd: flags['budget-usd']}),
          ...(flags['budget-email'] ? {emails: flags['budget-email']} : {}),
        } as InfraConfigInput['budget'])
      : undefined,
  }
  if (flagValues.maxVcpus && previous?.maxVcpus) flagValues.maxVcpus = {...(previous.maxVcpus as object), ...flagValues.maxVcpus}
  return resolveStackConfig({
    stack: target.stack,
    previous,
    file,
    flags: flagValues,
    overrides: (flags.set ?? []).map(parseOverride),
    profile: target.profile,
  })
}

/** Adds a job definition for each registered kind the config does not list yet (and default). */
export function withRegisteredKinds(config: InfraConfig, registered: string[]): InfraConfig {
  const listed = new Set(config.kinds.map((k) => k.name))
  return {...config, kinds: [...config.kinds, ...kindsFor(registered).filter((k) => !listed.has(k.name))]}
}

export function renderChanges(changes: Record<string, number> = {}): string {
  const order: Array<[string, string]> = [
    ['create', 'to create'],
    ['update', 'to update'],
    ['replace', 'to replace'],
    ['delete', 'to delete'],
    ['same', 'unchanged'],
  ]
  const parts = order.filter(([key]) => changes[key]).map(([key, label]) => `${changes[key]} ${label}`)
  const other = Object.entries(changes).filter(([key, n]) => n && !order.some(([k]) => k === key))
  return [...parts, ...other.map(([key, n]) => `${n} ${key}`)].join(', ') || 'no changes'
}

export function renderConfig(config: InfraConfig): string {
  const spot = config.gpuFamilies.map((f) => `${f} (≤${config.maxVcpus[f] ?? config.defaultMaxVcpus} vCPUs)`).join(', ')
  return [
    `  region        ${config.region}`,
    `  spot          ${spot}`,
    `  on-demand     ≤${config.onDemandMaxVcpus} vCPUs${config.onDemandFallback ? ', fallback of the spot queue' : ', not a fallback'}`,
    `  job kinds     ${config.kinds.map((k) => k.name).join(', ')}`,
    `  logs          ${config.logRetentionDays} days`,
    ...(config.secrets.length > 0 ? [`  secrets       ${config.secrets.map((s) => s.name).join(', ')} (by reference)`] : []),
    ...(config.budget ? [`  budget        $${config.budget.monthlyUsd}/month → ${config.budget.emails.join(', ')}`] : []),
  ].join('\n')
}

export function renderOutputs(outputs: InfraOutputs): string {
  const lines = [`  bucket        ${outputs.bucket} (${outputs.region})`]
  for (const [name, arn] of Object.entries(outputs.queues)) lines.push(`  queue         ${name.padEnd(10)} ${arn}`)
  for (const [kind, arn] of Object.entries(outputs.jobDefinitions)) lines.push(`  job def       ${kind.padEnd(10)} ${arn}`)
  lines.push(`  images        ${outputs.imageRepository}`)
  lines.push(`  log group     ${outputs.logGroup}`, `  job role      ${outputs.jobRoleArn}`)
  return lines.join('\n')
}

export function renderResult(result: InfraResult): string {
  const head = `Stack ${result.project}/${result.stack} (state: ${result.backendUrl})`
  const lines = [head]
  if (result.config && result.action !== 'up') lines.push(renderConfig(result.config))
  if (result.changes) lines.push(`${result.action === 'preview' ? 'Would change' : 'Changed'}: ${renderChanges(result.changes)}`)
  if (result.outputs) lines.push('Outputs:', renderOutputs(result.outputs))
  if (result.profile?.set?.length) lines.push(`Profile ${result.profile.name} now uses this stack (${result.profile.set.join(', ')}).`)
  if (result.profile?.removed?.length) lines.push(`Profile ${result.profile.name}: removed ${result.profile.removed.join(', ')}.`)
  return lines.join('\n')
}

/** Runs one infra action for a command: target, config, Pulumi, with progress on stdout (stderr under --json). */
export async function executeInfra(action: InfraAction, flags: StackFlagValues & ConfigFlagValues & {save?: boolean}, json: boolean, registeredKinds: string[] = []): Promise<InfraResult> {
  const target = await resolveTarget(flags)
  const config = action === 'preview' || action === 'up' ? withRegisteredKinds(await stackConfigFromFlags(target, flags), registeredKinds) : undefined
  const stream = json ? process.stderr : process.stdout
  return runInfra({
    action,
    stack: target.stack,
    profile: target.profileName,
    config,
    backendUrl: flags['backend-url'],
    save: flags.save,
    onOutput: (text) => stream.write(text),
  })
}
