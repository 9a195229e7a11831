import * as http from 'node:http'

export interface ImdsAnswer {
  status: number
  body: string
}

/** One request to the EC2 instance metadata service (or the test's stand-in for it). */
export function imdsRequest(method: 'GET' | 'PUT', url: string, headers: Record<string, string>, timeoutMs = 3000): Promise<ImdsAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {method, headers, timeout: timeoutMs}, (res) => {
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

/** IMDSv2: a session token first; its header for later requests (none if the service only speaks v1). */
export async function imdsSession(base: string): Promise<Record<string, string>> {
  const token = await imdsRequest('PUT', `${base}/latest/api/token`, {'X-aws-ec2-metadata-token-ttl-seconds': '300'})
  return token.status === 200 ? {'X-aws-ec2-metadata-token': token.body} : {}
}
