import * as http from 'node:http'

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
  const token = await get('PUT', `${base}/latest/api/token`, {'X-aws-ec2-metadata-token-ttl-seconds': '300'}).catch(() => undefined)
  if (!token) return undefined
  const headers: Record<string, string> = token.status === 200 ? {'X-aws-ec2-metadata-token': token.body} : {}
  const out: HostMetadata = {}
  for (const [key, path] of Object.entries(PATHS) as Array<[keyof HostMetadata, string]>) {
    const answer = await get('GET', `${base}/latest/meta-data/${path}`, headers).catch(() => undefined)
    if (answer?.status === 200 && answer.body) out[key] = answer.body.trim()
  }
  return Object.keys(out).length > 0 ? out : undefined
}

function get(method: string, url: string, headers: Record<string, string>): Promise<{status: number; body: string}> {
  return new Promise((resolve, reject) => {
    // Generous: the service answers in milliseconds on EC2, but a loaded host can be slow.
    const req = http.request(url, {method, headers, timeout: 3000}, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({status: res.statusCode ?? 0, body}))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end()
  })
}
