/**
 * The EC2 instance metadata service of each emulated host, as the stack's launch template
 * configures it (httpTokens: required, i.e. IMDSv2 only). One server; each host has its own path
 * prefix, which the emulator routes the job's 169.254.169.254 to.
 *
 * Rules enforced, from the EC2 user guide ("Use the Instance Metadata Service to access instance
 * metadata", "Spot Instance interruption notices"):
 * - "The PUT request must include the header X-aws-ec2-metadata-token-ttl-seconds, which specifies
 *   the TTL of the token in seconds, up to a maximum of six hours (21,600 seconds)." → 400 otherwise.
 * - With IMDSv2 required, "if you do not include a valid token ... you receive a 401 - Unauthorized
 *   HTTP error code".
 * - spot/instance-action: "If your Spot Instance is marked to be stopped or terminated ... the
 *   instance-action item is present ... {"action": "terminate", "time": "2017-09-18T08:22:00Z"}";
 *   otherwise the item is absent (404). The notice comes two minutes before the interruption.
 */
import {randomBytes} from 'node:crypto'
import * as http from 'node:http'
import type {AddressInfo} from 'node:net'

export interface ImdsHost {
  instanceType: string
  availabilityZone: string
  lifecycle: 'spot' | 'on-demand'
  instanceId: string
  /** set once EC2 has scheduled the interruption */
  instanceAction?: {action: 'terminate'; time: string}
}

export class InstanceMetadataService {
  readonly hosts = new Map<string, ImdsHost>()
  /** token PUTs refused for a missing or invalid TTL header */
  readonly refusedTokenRequests: string[] = []
  private readonly tokens = new Set<string>()
  private server: http.Server | undefined
  base = ''

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.serve(req, res))
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }

  /** The address that plays http://169.254.169.254 on this host. */
  endpointFor(key: string): string {
    return `${this.base}/${key}`
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const [, key, ...rest] = (req.url ?? '').split('/')
    const path = '/' + rest.join('/')
    const host = this.hosts.get(key)
    const answer = (status: number, body = '') => {
      res.statusCode = status
      res.end(body)
    }
    if (!host) return answer(404)
    if (path === '/latest/api/token') {
      if (req.method !== 'PUT') return answer(405)
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds'])
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21_600) {
        this.refusedTokenRequests.push(String(req.headers['x-aws-ec2-metadata-token-ttl-seconds']))
        return answer(400)
      }
      const token = randomBytes(24).toString('base64')
      this.tokens.add(token)
      return answer(200, token)
    }
    if (req.method !== 'GET') return answer(405)
    const token = req.headers['x-aws-ec2-metadata-token']
    if (typeof token !== 'string' || !this.tokens.has(token)) return answer(401)
    const items: Record<string, string | undefined> = {
      '/latest/meta-data/instance-type': host.instanceType,
      '/latest/meta-data/placement/availability-zone': host.availabilityZone,
      '/latest/meta-data/instance-life-cycle': host.lifecycle,
      '/latest/meta-data/instance-id': host.instanceId,
      '/latest/meta-data/spot/instance-action': host.instanceAction ? JSON.stringify(host.instanceAction) : undefined,
    }
    const body = items[path]
    if (body === undefined) return answer(404)
    answer(200, body)
  }
}
