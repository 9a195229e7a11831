/**
 * An HTTP proxy in front of s3rver that makes two of s3rver's own behaviours happen every time
 * instead of now and then under load, so tests can show what they do to rfm without timing:
 *
 * - `holdPuts`: a PutObject is answered 200 (ETag = MD5 of the body, as S3 does for a single-part
 *   PUT) at once, and reaches s3rver only after the next request for the same key was answered, so
 *   that request still sees the bytes from before. s3rver 3.7.1 does this by accident: its
 *   filesystem store resolves a PUT when its hashing Transform finishes, not when the fs.WriteStream
 *   that truncated the file has written it (node_modules/s3rver/lib/stores/filesystem.js,
 *   putObject), so a GET right after the answer can read an empty or old object. Real S3 cannot:
 *   "Any read (GET or LIST) initiated after receiving a successful PUT response will return the data
 *   written by PUT" (S3 data consistency model).
 * - `loseAnswerOfPut`: the n-th PutObject (1-based) reaches s3rver and is applied, but its answer is
 *   cut off (the client sees a reset connection): the "lost response" of a real network.
 *
 * Held PUTs of one key keep their order; `flush()` lands every held PUT.
 */
import {createHash} from 'node:crypto'
import * as http from 'node:http'
import type {AddressInfo} from 'node:net'

export interface EarlyAckProxyOptions {
  /** s3rver's endpoint, http://127.0.0.1:PORT */
  target: string
  holdPuts?: boolean
  loseAnswerOfPut?: number[]
}

export interface EarlyAckProxy {
  endpoint: string
  stats: {puts: number; heldPuts: number; lostAnswers: number}
  /** lands every PUT still held */
  flush(): Promise<void>
  stop(): Promise<void>
}

interface Forwarded {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('end', () => resolve(Buffer.concat(chunks)))
    stream.on('error', reject)
  })
}

export async function startEarlyAckProxy(options: EarlyAckProxyOptions): Promise<EarlyAckProxy> {
  const target = new URL(options.target)
  const agent = new http.Agent({keepAlive: true})
  const stats = {puts: 0, heldPuts: 0, lostAnswers: 0}
  /** per object path: the PUT that was answered but has not reached s3rver yet */
  const held = new Map<string, () => Promise<void>>()

  const forward = (req: http.IncomingMessage, body: Buffer): Promise<Forwarded> =>
    new Promise((resolve, reject) => {
      const upstream = http.request({host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent}, async (res) => {
        resolve({status: res.statusCode ?? 502, headers: res.headers, body: await readAll(res)})
      })
      upstream.on('error', reject)
      upstream.end(body)
    })

  /** held PUTs land one at a time, in the order they were released */
  let landing = Promise.resolve()
  const land = async (path: string): Promise<void> => {
    const pending = held.get(path)
    if (pending) {
      held.delete(path)
      landing = landing.then(pending)
    }
    await landing
  }

  const server = http.createServer(async (req, res) => {
    try {
      const body = await readAll(req)
      const path = (req.url ?? '').split('?')[0]
      // the SDK marks a PutObject with ?x-id=PutObject; parts, tagging and copies are left alone
      const query = (req.url ?? '').split('?')[1] ?? ''
      const isPutObject = req.method === 'PUT' && (query === '' || query === 'x-id=PutObject') && !req.headers['x-amz-copy-source']
      if (isPutObject) {
        stats.puts++
        await land(path) // an earlier held PUT of this key goes first
        if (options.loseAnswerOfPut?.includes(stats.puts)) {
          await forward(req, body)
          stats.lostAnswers++
          req.socket.destroy()
          return
        }
        if (options.holdPuts) {
          stats.heldPuts++
          held.set(path, async () => {
            await forward(req, body)
          })
          res.writeHead(200, {etag: `"${createHash('md5').update(body).digest('hex')}"`, 'content-length': '0'})
          res.end()
          return
        }
      }
      const answer = await forward(req, body)
      res.writeHead(answer.status, answer.headers)
      res.end(answer.body)
      // the request for this key was answered from the old bytes; now the held PUT lands
      await land(path)
    } catch (error) {
      res.writeHead(502)
      res.end(String(error))
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    async flush() {
      for (const path of [...held.keys()]) await land(path)
    },
    async stop() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      agent.destroy()
    },
  }
}
