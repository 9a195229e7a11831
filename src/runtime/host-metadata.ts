import {promises as fs} from 'node:fs'

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

/**
 * When the host booted, from the kernel's uptime (/proc/uptime is not namespaced: in a container it
 * is the host's). The cost report charges an attempt from there when the host booted for it.
 */
export async function hostBootedAt(now = Date.now(), uptimeFile = '/proc/uptime'): Promise<string | undefined> {
  const text = await fs.readFile(uptimeFile, 'utf8').catch(() => undefined)
  const seconds = Number(text?.trim().split(/\s+/)[0])
  if (!text || !Number.isFinite(seconds) || seconds < 0) return undefined
  return new Date(now - Math.round(seconds * 1000)).toISOString()
}
