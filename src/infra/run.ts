/**
 * Drives the rfm Pulumi program through the Automation API (inline program, LocalWorkspace):
 * preview, up, destroy and outputs, with the engine's progress streamed to the caller. Pulumi and the
 * program are imported here, lazily, only once the CLI is known to be installed.
 */
import * as path from 'node:path'

import type {InfraConfig, InfraOutputs} from '../../infra/config'
import {BackendError, NotFoundError, isRfmError} from '../errors'
import {clearOutputsFromProfile, outputsFromStack, writeOutputsToProfile, type ProfileChange} from './profile-outputs'
import {findPulumi, isPulumiSpawnEnoent, pulumiMissingError, pulumiSearchPath} from './pulumi-cli'
import {infraDir, PROJECT_NAME, readSavedStack, removeSavedStack, saveStack} from './stack-config'

export type InfraAction = 'preview' | 'up' | 'destroy' | 'outputs'

type OutputMap = Record<string, {value: unknown; secret?: boolean}>
type OpMap = Record<string, number | undefined>

/** The part of an Automation API Stack that rfm uses (tests substitute their own). */
export interface StackLike {
  preview(opts: {onOutput?: (out: string) => void}): Promise<{changeSummary: OpMap}>
  up(opts: {onOutput?: (out: string) => void}): Promise<{outputs: OutputMap; summary: {resourceChanges?: OpMap}}>
  destroy(opts: {onOutput?: (out: string) => void}): Promise<{summary: {resourceChanges?: OpMap}}>
  outputs(): Promise<OutputMap>
}

export interface OpenStackArgs {
  stack: string
  /** the program's config; absent for destroy/outputs, which never run the program */
  config?: InfraConfig
  /** create the stack if it does not exist (preview, up) */
  create: boolean
  backendUrl: string
  pulumiPath: string
  env: NodeJS.ProcessEnv
}

export interface InfraDeps {
  findPulumi(env: NodeJS.ProcessEnv): string | undefined
  openStack(args: OpenStackArgs): Promise<StackLike>
}

export interface InfraRequest {
  action: InfraAction
  stack: string
  /** the rfm profile that receives the outputs */
  profile: string
  config?: InfraConfig
  backendUrl?: string
  /** outputs: also write them into the profile */
  save?: boolean
  onOutput?: (text: string) => void
  env?: NodeJS.ProcessEnv
}

export interface InfraResult {
  action: InfraAction
  stack: string
  project: string
  backendUrl: string
  config?: InfraConfig
  /** resource operations by kind (create, update, delete, same, ...) */
  changes?: Record<string, number>
  outputs?: InfraOutputs
  profile?: ProfileChange
}

/** Where the stack state lives unless told otherwise: a local file backend under RFM_HOME. */
export function defaultBackendUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.PULUMI_BACKEND_URL || `file://${path.join(infraDir(), 'state')}`
}

function counts(map: OpMap | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(map ?? {}).filter((entry): entry is [string, number] => typeof entry[1] === 'number'))
}

export async function runInfra(request: InfraRequest, deps: InfraDeps = automationDeps): Promise<InfraResult> {
  const env = request.env ?? process.env
  const backendUrl = request.backendUrl ?? defaultBackendUrl(env)
  const pulumiPath = deps.findPulumi(env)
  if (!pulumiPath) throw pulumiMissingError(pulumiSearchPath(env))
  const base = {action: request.action, stack: request.stack, project: PROJECT_NAME, backendUrl}
  const onOutput = request.onOutput

  try {
    const creates = request.action === 'preview' || request.action === 'up'
    if (creates && !request.config) throw new Error(`${request.action} needs the stack config`)
    const stack = await deps.openStack({stack: request.stack, config: request.config, create: creates, backendUrl, pulumiPath, env})
    switch (request.action) {
      case 'preview': {
        const result = await stack.preview({onOutput})
        return {...base, config: request.config, changes: counts(result.changeSummary)}
      }
      case 'up': {
        const result = await stack.up({onOutput})
        const outputs = outputsFromStack(result.outputs)
        await saveStack({stack: request.stack, config: request.config!, outputs, updatedAt: new Date().toISOString()})
        const profile = await writeOutputsToProfile(request.profile, outputs)
        return {...base, config: request.config, changes: counts(result.summary.resourceChanges), outputs, profile}
      }
      case 'destroy': {
        const saved = await readSavedStack(request.stack)
        const result = await stack.destroy({onOutput})
        await removeSavedStack(request.stack)
        const profile = await clearOutputsFromProfile(request.profile, saved?.outputs?.bucket)
        return {...base, changes: counts(result.summary.resourceChanges), profile}
      }
      case 'outputs': {
        const map = await stack.outputs()
        if (Object.keys(map).length === 0) {
          throw new NotFoundError(`Stack "${request.stack}" has no outputs: it has not been deployed.`, {hint: `Deploy it with rfm infra up --stack ${request.stack}.`})
        }
        const outputs = outputsFromStack(map)
        const profile = request.save ? await writeOutputsToProfile(request.profile, outputs) : undefined
        return {...base, outputs, ...(profile ? {profile} : {})}
      }
    }
  } catch (error) {
    throw pulumiError(error, request, backendUrl, env)
  }
}

/** Pulumi's failures → rfm errors: a missing CLI, a missing or locked stack, a failed command. */
export function pulumiError(error: unknown, request: Pick<InfraRequest, 'action' | 'stack'>, backendUrl: string, env: NodeJS.ProcessEnv = process.env): unknown {
  if (isRfmError(error)) return error
  if (isPulumiSpawnEnoent(error)) return pulumiMissingError(pulumiSearchPath(env), error)
  const err = error as Error & {commandResult?: {stderr?: string; code?: number}}
  switch (err?.name) {
    case 'StackNotFoundError':
      return new NotFoundError(`Stack "${request.stack}" does not exist in ${backendUrl}.`, {
        hint: `Create it with rfm infra up --stack ${request.stack}, or point at its state with --backend-url.`,
      })
    case 'ConcurrentUpdateError':
      return new BackendError(`Stack "${request.stack}" is locked by another update.`, {
        hint: `Wait for that update to finish. If it crashed, run \`pulumi cancel --stack ${request.stack}\` in ${path.join(infraDir(), 'workspace')}.`,
      })
    case 'CommandError': {
      const stderr = err.commandResult?.stderr ?? ''
      const lines = stderr
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
      const errors = lines.filter((l) => /^error:/i.test(l))
      const summary = (errors.length > 0 ? errors : lines.slice(-3)).join(' ').slice(0, 600)
      return new BackendError(`pulumi ${request.action} of stack "${request.stack}" failed${summary ? `: ${summary}` : '.'}`, {
        hint: 'The Pulumi output above has the details; fix the cause (credentials, quotas, config) and run the command again.',
        details: {exitCode: err.commandResult?.code},
      })
    }
    default:
      return error
  }
}

/** The real thing: a LocalWorkspace stack running `rfmInfrastructure(config)` as its inline program. */
export const automationDeps: InfraDeps = {
  findPulumi,
  async openStack(args) {
    const auto = await import('@pulumi/pulumi/automation/index.js')
    const pathDirs = (args.env.PATH ?? '').split(path.delimiter)
    const binDir = path.dirname(args.pulumiPath)
    // PulumiCommand.get({root}) runs <root>/bin/pulumi; on PATH, plain "pulumi" is found by name.
    const pulumiCommand = pathDirs.includes(binDir) ? await auto.PulumiCommand.get() : await auto.PulumiCommand.get({root: path.dirname(binDir)})
    const config = args.config
    const program = async () => {
      if (!config) return {}
      const {rfmInfrastructure} = await import('../../infra/index.js')
      return rfmInfrastructure(config)
    }
    const envVars: Record<string, string> = {}
    // The stack holds no secret values (secrets are references), so a file backend's passphrase
    // protects nothing by default; set PULUMI_CONFIG_PASSPHRASE to choose one.
    if (args.env.PULUMI_CONFIG_PASSPHRASE === undefined && args.env.PULUMI_CONFIG_PASSPHRASE_FILE === undefined) envVars.PULUMI_CONFIG_PASSPHRASE = ''
    const options = {
      workDir: path.join(infraDir(), 'workspace'),
      pulumiCommand,
      envVars,
      projectSettings: {name: PROJECT_NAME, runtime: 'nodejs' as const, backend: {url: args.backendUrl}},
    }
    const {mkdir} = await import('node:fs/promises')
    await mkdir(options.workDir, {recursive: true})
    if (args.backendUrl.startsWith('file://')) await mkdir(args.backendUrl.slice('file://'.length), {recursive: true})
    const inline = {stackName: args.stack, projectName: PROJECT_NAME, program}
    const stack = args.create ? await auto.LocalWorkspace.createOrSelectStack(inline, options) : await auto.LocalWorkspace.selectStack(inline, options)
    if (args.create) {
      // Inline programs do not install their provider plugin; pin it to the @pulumi/aws in use.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const awsVersion = (require('@pulumi/aws/package.json') as {version: string}).version
      await stack.workspace.installPlugin('aws', `v${awsVersion}`)
    }
    return stack as unknown as StackLike
  },
}
