import {promises as fs} from 'node:fs'
import * as path from 'node:path'
import {pathToFileURL} from 'node:url'
import {z} from 'zod'

import {ConfigError, NotFoundError, UsageError} from '../errors'
import {rfmHome} from './home'
import {validateConfig} from './validate'

export const profileSchema = z
  .object({
    backend: z.enum(['local', 'aws-batch']).describe('Where jobs run: "local" (this machine) or "aws-batch".'),
    store: z
      .string()
      .regex(/^(file:\/\/\/|s3:\/\/[^/]+)/, 'a store URL: file:///absolute/path or s3://bucket/prefix')
      .describe('Object store URL for runs, datasets and checkpoints: file:///… or s3://bucket/prefix.'),
    region: z.string().min(1).optional().describe('AWS region, e.g. us-east-1.'),
    endpoint: z.string().url().optional().describe('S3-compatible endpoint URL (MinIO, R2); leave unset for AWS.'),
    // Written by `rfm infra up` from the stack outputs; read by the aws-batch backend.
    bucket: z.string().min(1).optional().describe('S3 bucket of the rfm stack (set by rfm infra up).'),
    queues: z
      .object({spot: z.string(), onDemand: z.string(), multiNode: z.string().optional()})
      .strict()
      .optional()
      .describe('Batch job queue ARNs: spot (falls back to on-demand), onDemand, multiNode (set by rfm infra up).'),
    jobDefinitions: z.record(z.string(), z.string()).optional().describe('Batch job definition ARN per job kind (set by rfm infra up).'),
    repositories: z.record(z.string(), z.string()).optional().describe('ECR repository URL per image (set by rfm infra up).'),
    logGroup: z.string().optional().describe('CloudWatch log group of the jobs (set by rfm infra up).'),
    jobRoleArn: z.string().optional().describe('IAM role the jobs run as (set by rfm infra up).'),
    // containers (issue 9): where `rfm build` pushes images
    imageRepository: z
      .string()
      .regex(/^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/[a-z0-9][a-z0-9._/-]*$/, 'an ECR repository URI: ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME')
      .optional()
      .describe('ECR repository URI that rfm build pushes images to (tags: <image>-<content hash>).'),
  })
  .strict()

export type Profile = z.infer<typeof profileSchema>

const fileSchema = z
  .object({
    active: z.string().default('default'),
    profiles: z.record(z.string(), profileSchema.partial()).default({}),
  })
  .strict()

type ProfilesFile = z.infer<typeof fileSchema>

export const PROFILE_KEYS = Object.keys(profileSchema.shape) as Array<keyof Profile>

export function profilesPath(): string {
  return path.join(rfmHome(), 'config.json')
}

/** A profile as used: stored keys over defaults, so a fresh machine works with no configuration. */
export interface ResolvedProfile {
  name: string
  profile: Profile
  /** keys that come from defaults rather than the profiles file */
  defaults: Array<keyof Profile>
}

export function defaultProfile(): Profile {
  return {backend: 'local', store: pathToFileURL(path.join(rfmHome(), 'store')).href}
}

async function readFile(): Promise<ProfilesFile> {
  const file = profilesPath()
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {active: 'default', profiles: {}}
    throw error
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    throw new ConfigError(`The profiles file ${file} is not valid JSON.`, {
      code: 'CONFIG_SYNTAX',
      hint: `Fix it by hand, or move it away to start again with defaults.`,
    })
  }
  return validateConfig(fileSchema, data, file)
}

async function writeFile(content: ProfilesFile): Promise<void> {
  const file = profilesPath()
  await fs.mkdir(path.dirname(file), {recursive: true})
  const tmp = `${file}.${process.pid}.tmp`
  await fs.writeFile(tmp, JSON.stringify(content, null, 2) + '\n')
  await fs.rename(tmp, file)
}

/** The profile to use: `--profile`, else RFM_PROFILE, else the file's active one, else "default". */
export async function resolveProfile(requested?: string): Promise<ResolvedProfile> {
  const content = await readFile()
  const name = requested ?? process.env.RFM_PROFILE ?? content.active
  const stored = content.profiles[name]
  if (!stored && name !== 'default') {
    throw new NotFoundError(`Profile "${name}" does not exist.`, {
      hint: `Known profiles: ${['default', ...Object.keys(content.profiles).filter((n) => n !== 'default')].join(', ')}. Create one with rfm config set KEY VALUE --profile ${name}.`,
    })
  }
  const defaults = defaultProfile()
  const profile = validateConfig(profileSchema, {...defaults, ...stored}, `profile "${name}"`)
  return {name, profile, defaults: PROFILE_KEYS.filter((k) => stored?.[k] === undefined && defaults[k] !== undefined)}
}

export async function listProfiles(): Promise<{active: string; names: string[]}> {
  const content = await readFile()
  const names = [...new Set(['default', ...Object.keys(content.profiles)])].sort()
  return {active: process.env.RFM_PROFILE ?? content.active, names}
}

/** Sets (or with value undefined, removes) one key of a profile, validating the result first. */
export async function setProfileKey(name: string, key: string, value: string | undefined): Promise<ResolvedProfile> {
  if (!(PROFILE_KEYS as string[]).includes(key)) {
    throw new UsageError(`Unknown profile key "${key}".`, {hint: `Profile keys: ${PROFILE_KEYS.join(', ')}.`})
  }
  return setProfileValues(name, {[key]: value} as {[K in keyof Profile]?: Profile[K]})
}

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** A profile name is a plain word: it appears in run records and paths, so no "/", "..", spaces or control characters. */
export function checkProfileName(name: string): string {
  if (!PROFILE_NAME.test(name) || name.includes('..')) {
    throw new UsageError(`Invalid profile name ${JSON.stringify(name)}.`, {
      hint: 'Profile names start with a letter or digit and use letters, digits, ".", "_" and "-" (at most 64), e.g. cloud or s3-dev.',
    })
  }
  return name
}

/** Sets several keys of a profile at once (undefined removes a key), validating the result first. */
export async function setProfileValues(name: string, values: {[K in keyof Profile]?: Profile[K] | undefined}): Promise<ResolvedProfile> {
  checkProfileName(name)
  const content = await readFile()
  const updated = {...content.profiles[name]} as Record<string, unknown>
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) delete updated[key]
    else updated[key] = value
  }
  validateConfig(profileSchema, {...defaultProfile(), ...updated}, `profile "${name}"`)
  content.profiles[name] = updated as Partial<Profile>
  await writeFile(content)
  return resolveProfile(name)
}

export async function useProfile(name: string): Promise<void> {
  const content = await readFile()
  if (!content.profiles[name] && name !== 'default') {
    throw new NotFoundError(`Profile "${name}" does not exist.`, {hint: `Create it first: rfm config set backend local --profile ${name}`})
  }
  content.active = name
  await writeFile(content)
}
