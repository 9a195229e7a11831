/**
 * Stack outputs → rfm profile: after `rfm infra up` the profile points at the stack (aws-batch
 * backend, the bucket as the store, queues, job definitions), so `rfm cloud launch` uses it as is.
 */
import {z} from 'zod'

import type {InfraOutputs} from '../../infra/config'
import {resolveProfile, setProfileValues, type Profile} from '../config/profiles'
import {BackendError} from '../errors'

/** Profile keys that hold stack outputs (removed again by `rfm infra destroy`). */
export const INFRA_PROFILE_KEYS = ['bucket', 'queues', 'jobDefinitions', 'imageRepository', 'repositories', 'logGroup', 'jobRoleArn'] as const

const outputsSchema = z.object({
  region: z.string().min(1),
  bucket: z.string().min(1),
  queues: z.object({spot: z.string().min(1), onDemand: z.string().min(1)}),
  jobDefinitions: z.record(z.string(), z.string()),
  imageRepository: z.string().min(1),
  repositories: z.record(z.string(), z.string()),
  logGroup: z.string().min(1),
  jobRoleArn: z.string().min(1),
})

/** The Automation API's output map (`{key: {value, secret}}`) → typed outputs; refuses an incomplete stack. */
export function outputsFromStack(map: Record<string, {value: unknown; secret?: boolean}>): InfraOutputs {
  const plain = Object.fromEntries(Object.entries(map).map(([key, output]) => [key, output.value]))
  const parsed = outputsSchema.safeParse(plain)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new BackendError(`The stack's outputs are incomplete: ${issue.path.join('.') || 'outputs'} ${issue.message.toLowerCase()}.`, {
      hint: 'Run rfm infra up to bring the stack up to date with this version of rfm.',
      details: {outputs: Object.keys(plain)},
    })
  }
  return parsed.data
}

/** The profile values a stack's outputs imply (pure). */
export function profileValuesFromOutputs(outputs: InfraOutputs): Partial<Profile> {
  const {spot, onDemand} = outputs.queues
  return {
    backend: 'aws-batch',
    store: `s3://${outputs.bucket}`,
    region: outputs.region,
    bucket: outputs.bucket,
    queues: {spot, onDemand},
    jobDefinitions: {...outputs.jobDefinitions},
    // where rfm build and rfm cloud launch push and find the images (src/containers/ensure.ts)
    imageRepository: outputs.imageRepository,
    repositories: {...outputs.repositories},
    logGroup: outputs.logGroup,
    jobRoleArn: outputs.jobRoleArn,
  }
}

export interface ProfileChange {
  name: string
  /** keys written (up, outputs --save) */
  set?: string[]
  /** keys removed (destroy) */
  removed?: string[]
}

export async function writeOutputsToProfile(name: string, outputs: InfraOutputs): Promise<ProfileChange> {
  const values = profileValuesFromOutputs(outputs)
  // Replaces the queues as a whole: a multi-node queue of an older rfm must not stay behind.
  await setProfileValues(name, {...values, queues: values.queues})
  return {name, set: Object.keys(values)}
}

/**
 * After a destroy: drop the stack's keys, and the backend/store/region too when they still point at the
 * destroyed bucket, so the profile falls back to rfm's local defaults instead of a bucket that is gone.
 */
export async function clearOutputsFromProfile(name: string, bucket: string | undefined): Promise<ProfileChange> {
  let current: Profile | undefined
  try {
    current = (await resolveProfile(name)).profile
  } catch {
    return {name, removed: []}
  }
  const removed: Array<keyof Profile> = INFRA_PROFILE_KEYS.filter((key) => current?.[key] !== undefined)
  const stackBucket = bucket ?? current.bucket
  if (stackBucket && current.store === `s3://${stackBucket}`) removed.push('store', 'backend')
  if (removed.length > 0) await setProfileValues(name, Object.fromEntries(removed.map((key) => [key, undefined])))
  return {name, removed}
}
