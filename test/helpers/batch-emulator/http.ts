/**
 * The emulator over HTTP, for a CLI running in another process: point the SDK at it with
 * AWS_ENDPOINT_URL_BATCH / _CLOUDWATCH_LOGS / _EC2. Batch speaks REST-JSON (POST /v1/<op>),
 * CloudWatch Logs JSON 1.1 (X-Amz-Target), EC2 the query protocol (only DescribeSpotPriceHistory,
 * answered from `spotPrices`). Every request body is kept in `bodies` (tests search them for
 * laptop paths).
 */
import {existsSync, readFileSync} from 'node:fs'
import * as http from 'node:http'
import type {AddressInfo} from 'node:net'

import type {FakeBatch} from './batch'

/**
 * An ECR registry whose images are what the stand-in docker (test/fixtures/fake-docker) pushed:
 * the `push` lines of its log. Serves DescribeImages (ImageNotFoundException for a missing tag)
 * and GetAuthorizationToken.
 */
export class PushLogRegistry {
  constructor(readonly dockerLog: string) {}

  pushed(): string[] {
    if (!existsSync(this.dockerLog)) return []
    return readFileSync(this.dockerLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as {argv: string[]})
      .filter((r) => r.argv[0] === 'push')
      .map((r) => r.argv.at(-1)!)
  }

  has(ref: string): boolean {
    return this.pushed().includes(ref)
  }

  answer(operation: string, input: {repositoryName?: string; registryId?: string; imageIds?: Array<{imageTag?: string}>}): unknown {
    if (operation === 'GetAuthorizationToken') {
      return {
        authorizationData: [
          {authorizationToken: Buffer.from('AWS:emulated-password').toString('base64'), expiresAt: Date.now() / 1000 + 43_200, proxyEndpoint: 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com'},
        ],
      }
    }
    if (operation === 'DescribeImages') {
      const tags = (input.imageIds ?? []).map((i) => i.imageTag)
      const found = this.pushed().filter((ref) => ref.split(':')[0].endsWith(`/${input.repositoryName}`) && tags.includes(ref.split(':').at(-1)))
      if (found.length === 0)
        throw Object.assign(new Error(`The image with imageId {imageTag:'${tags[0]}'} does not exist within the repository with name '${input.repositoryName}'`), {name: 'ImageNotFoundException'})
      return {imageDetails: found.map((ref) => ({repositoryName: input.repositoryName, imageTags: [ref.split(':').at(-1)], imageDigest: 'sha256:0123', imagePushedAt: Date.now() / 1000}))}
    }
    throw Object.assign(new Error(`ECR emulator: no ${operation}`), {name: 'InvalidParameterException'})
  }
}

export async function serveHttp(batch: FakeBatch, spotPrices: Record<string, number> = {}, bodies: string[] = [], registry?: PushLogRegistry): Promise<string> {
  const server = http.createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (body += chunk))
    req.on('end', () => {
      bodies.push(`${req.method} ${req.url} ${body}`)
      const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, {'content-type': 'application/json', ...headers})
        res.end(typeof payload === 'string' ? payload : JSON.stringify(payload))
      }
      // Requests signed with the access key EXPIRED play an expired session.
      if ((req.headers.authorization ?? '').includes('Credential=EXPIRED/')) {
        if (req.headers['x-amz-target']) return reply(400, {__type: 'ExpiredTokenException', message: 'The security token included in the request is expired'})
        return reply(403, {message: 'The security token included in the request is expired'}, {'x-amzn-errortype': 'ExpiredTokenException'})
      }
      try {
        const target = req.headers['x-amz-target']
        if (typeof target === 'string' && target.endsWith('.GetLogEvents')) return reply(200, batch.getLogEvents(JSON.parse(body)))
        if (typeof target === 'string' && target.startsWith('AmazonEC2ContainerRegistry') && registry)
          return reply(200, registry.answer(target.split('.')[1], JSON.parse(body || '{}')), {'content-type': 'application/x-amz-json-1.1'})
        if (req.url?.startsWith('/v1/')) {
          const operations: Record<string, (input: any) => unknown> = {
            submitjob: (i) => batch.submitJob(i),
            describejobs: (i) => batch.describeJobs(i),
            canceljob: (i) => batch.cancelJob(i),
            terminatejob: (i) => batch.terminateJob(i),
            listjobs: (i) => batch.listJobs(i),
            describejobdefinitions: (i) => batch.describeJobDefinitions(i),
            registerjobdefinition: (i) => batch.registerJobDefinition(i),
            describejobqueues: (i) => batch.describeJobQueues(i),
            describecomputeenvironments: (i) => batch.describeComputeEnvironments(i),
          }
          const operation = operations[req.url.slice(4)]
          if (!operation) return reply(404, {message: `batch emulator: no ${req.url}`}, {'x-amzn-errortype': 'ClientException'})
          return reply(200, operation(JSON.parse(body || '{}')))
        }
        const form = new URLSearchParams(body)
        if (form.get('Action') === 'DescribeSpotPriceHistory') {
          const zone = form.get('AvailabilityZone') ?? ''
          const type = form.get('InstanceType.1') ?? ''
          const at = new Date(Date.parse(form.get('StartTime') ?? new Date().toISOString()) - 3_600_000).toISOString()
          const item =
            spotPrices[zone] === undefined
              ? ''
              : `<item><instanceType>${type}</instanceType><productDescription>Linux/UNIX</productDescription><spotPrice>${spotPrices[zone]}</spotPrice><timestamp>${at}</timestamp><availabilityZone>${zone}</availabilityZone></item>`
          res.writeHead(200, {'content-type': 'text/xml'})
          return res.end(
            `<DescribeSpotPriceHistoryResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>fake</requestId><spotPriceHistorySet>${item}</spotPriceHistorySet><nextToken></nextToken></DescribeSpotPriceHistoryResponse>`,
          )
        }
        reply(400, {message: 'batch emulator: unknown request'})
      } catch (error) {
        const e = error as Error
        if (req.headers['x-amz-target']) return reply(400, {__type: e.name, message: e.message}, {'content-type': 'application/x-amz-json-1.1'})
        reply(400, {message: e.message}, {'x-amzn-errortype': e.name})
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  // one server per emulator: a second call replaces the first (stop() closes only the last)
  batch.httpServer?.closeAllConnections()
  batch.httpServer?.close()
  batch.httpServer = server
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}
