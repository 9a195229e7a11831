/**
 * An HTTP proxy in front of s3rver that plays S3's authorization for one IAM role: each request is
 * mapped to the IAM action(s) and resource(s) S3 authorizes it as (Amazon S3 user guide, "Required
 * permissions for Amazon S3 API operations"), evaluated against the role's identity policy by an
 * independent IAM evaluator (@cloud-copilot/iam-simulate), and refused the way S3 refuses: 403 with
 * an XML body whose Code is AccessDenied. Allowed requests reach s3rver unchanged (same Host
 * header, so SigV4 still verifies).
 */
import {randomBytes} from 'node:crypto'
import * as http from 'node:http'
import type {AddressInfo} from 'node:net'

import {runSimulation} from '@cloud-copilot/iam-simulate'

export interface S3Authorization {
  action: string
  resource: string
  context?: Record<string, string>
}

export interface ProxiedRequest {
  method: string
  url: string
  authorizations: S3Authorization[]
  allowed: boolean
}

/**
 * The IAM action(s) an S3 REST request (path-style) needs.
 * - GetObject / HeadObject: s3:GetObject on the object.
 * - PutObject, CreateMultipartUpload, UploadPart, CompleteMultipartUpload: s3:PutObject; with
 *   x-amz-tagging also s3:PutObjectTagging; CopyObject also s3:GetObject on the source.
 * - DeleteObject: s3:DeleteObject; DeleteObjects: s3:DeleteObject on each key.
 * - AbortMultipartUpload: s3:AbortMultipartUpload; ListParts: s3:ListMultipartUploadParts.
 * - ListObjects(V2) and HeadBucket: s3:ListBucket on the bucket, with the s3:prefix condition key
 *   set to the request's prefix ("s3:prefix ... Filters access by key name prefix").
 * - Get/PutObjectTagging: s3:GetObjectTagging / s3:PutObjectTagging.
 */
export function s3Authorizations(method: string, url: URL, headers: http.IncomingHttpHeaders, body: string): S3Authorization[] {
  const [bucket, ...keyParts] = url.pathname.slice(1).split('/')
  const key = decodeURIComponent(keyParts.join('/'))
  const bucketArn = `arn:aws:s3:::${bucket}`
  const objectArn = `${bucketArn}/${key}`
  const q = url.searchParams
  if (!key) {
    if (method === 'POST' && q.has('delete')) {
      const keys = [...body.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => unescapeXml(m[1]))
      return keys.map((k) => ({action: 's3:DeleteObject', resource: `${bucketArn}/${k}`}))
    }
    if (q.has('uploads')) return [{action: 's3:ListBucketMultipartUploads', resource: bucketArn}]
    if (q.has('location')) return [{action: 's3:GetBucketLocation', resource: bucketArn}]
    if (method === 'GET' || method === 'HEAD') {
      const prefix = q.get('prefix')
      return [{action: 's3:ListBucket', resource: bucketArn, ...(prefix !== null ? {context: {'s3:prefix': prefix}} : {})}]
    }
    return [{action: `s3:Unmapped${method}Bucket`, resource: bucketArn}]
  }
  if (q.has('tagging')) return [{action: method === 'GET' ? 's3:GetObjectTagging' : 's3:PutObjectTagging', resource: objectArn}]
  if (method === 'GET' && q.has('uploadId')) return [{action: 's3:ListMultipartUploadParts', resource: objectArn}]
  if (method === 'DELETE' && q.has('uploadId')) return [{action: 's3:AbortMultipartUpload', resource: objectArn}]
  if (method === 'GET' || method === 'HEAD') return [{action: 's3:GetObject', resource: objectArn}]
  if (method === 'DELETE') return [{action: 's3:DeleteObject', resource: objectArn}]
  if (method === 'PUT' || method === 'POST') {
    const out: S3Authorization[] = [{action: 's3:PutObject', resource: objectArn}]
    if (headers['x-amz-tagging']) out.push({action: 's3:PutObjectTagging', resource: objectArn})
    const source = headers['x-amz-copy-source']
    if (typeof source === 'string') out.push({action: 's3:GetObject', resource: `arn:aws:s3:::${decodeURIComponent(source.replace(/^\//, '').split('?')[0])}`})
    return out
  }
  return [{action: `s3:Unmapped${method}Object`, resource: objectArn}]
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
}

export class S3IamProxy {
  readonly requests: ProxiedRequest[] = []
  private server: http.Server | undefined
  endpoint = ''

  constructor(
    private readonly target: string,
    private readonly role: {arn: string; policy: unknown; accountId: string},
  ) {}

  get denied(): ProxiedRequest[] {
    return this.requests.filter((r) => !r.allowed)
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res))
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }

  async allowed(authorization: S3Authorization): Promise<boolean> {
    const roleName = this.role.arn.split('/').pop()
    const result = await runSimulation(
      {
        request: {
          principal: `arn:aws:sts::${this.role.accountId}:assumed-role/${roleName}/batch-job`,
          action: authorization.action,
          resource: {resource: authorization.resource, accountId: this.role.accountId},
          // On AWS the SDK speaks HTTPS to S3; the emulator's loopback HTTP is a transport detail.
          contextVariables: {'aws:SecureTransport': 'true', ...authorization.context},
        },
        identityPolicies: [{name: 'job-role', policy: this.role.policy}],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    )
    if (result.resultType === 'error') throw new Error(`iam-simulate refused the request: ${JSON.stringify(result.errors)}`)
    return result.overallResult === 'Allowed'
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    const url = new URL(req.url ?? '/', 'http://s3')
    const authorizations = s3Authorizations(req.method ?? 'GET', url, req.headers, req.method === 'POST' && url.searchParams.has('delete') ? body.toString('utf8') : '')
    let allowed = true
    for (const authorization of authorizations) if (!(await this.allowed(authorization))) allowed = false
    this.requests.push({method: req.method ?? 'GET', url: req.url ?? '/', authorizations, allowed})
    if (!allowed) {
      const requestId = randomBytes(8).toString('hex').toUpperCase()
      res.writeHead(403, {'content-type': 'application/xml', 'x-amz-request-id': requestId})
      if (req.method === 'HEAD') return void res.end()
      return void res.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>${requestId}</RequestId><HostId>${randomBytes(16).toString('base64')}</HostId></Error>`,
      )
    }
    const target = new URL(this.target)
    const upstream = http.request({host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers}, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', (error) => {
      res.writeHead(502)
      res.end(error.message)
    })
    upstream.end(body)
  }
}
