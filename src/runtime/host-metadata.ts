import {imdsRequest, imdsSession} from './imds'

/** Where an attempt runs, from the EC2 instance metadata service: what the cost report prices. */
export interface HostMetadata {
  instanceType?: string
  availabilityZone?: string
  /** "spot" or "on-demand" */
  lifecycle?: string
  instanceId?: string
}

const PATHS: Record<keyof HostMetadata, string> = {
  instanceType: 'instance-type',
  availabilityZone: 'placement/availability-zone',
  lifecycle: 'instance-life-cycle',
  instanceId: 'instance-id',
}

/** Reads the host's metadata (IMDSv2); undefined when there is no metadata service. */
export async function hostMetadata(endpoint: string, tries = 2): Promise<HostMetadata | undefined> {
  for (let i = 1; ; i++) {
    const found = await readOnce(endpoint)
    if (found || i >= tries) return found
  }
}

async function readOnce(endpoint: string): Promise<HostMetadata | undefined> {
  const base = endpoint.replace(/\/$/, '')
  const headers = await imdsSession(base).catch(() => undefined)
  if (!headers) return undefined
  const out: HostMetadata = {}
  for (const [key, path] of Object.entries(PATHS) as Array<[keyof HostMetadata, string]>) {
    const answer = await imdsRequest('GET', `${base}/latest/meta-data/${path}`, headers).catch(() => undefined)
    if (answer?.status === 200 && answer.body) out[key] = answer.body.trim()
  }
  return Object.keys(out).length > 0 ? out : undefined
}
