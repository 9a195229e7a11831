/**
 * An HTTP proxy on 127.0.0.1 that sits between an S3 client and s3rver and misbehaves on purpose,
 * for a seeded fraction of requests: it drops the connection before forwarding, answers 500 or 503
 * (S3-style XML errors), or forwards the request and then cuts the response off midway (so the
 * server did the work but the client never hears the answer, or gets half a body), or sends half
 * a body and then nothing more while keeping the connection open (a stalled transfer).
 * Bounded: at most `maxFaults` faults, then it only forwards. Self-stopping: it closes itself after
 * `lifetimeMs` even if a test forgets to call stop().
 */
import * as http from 'node:http'
import type {AddressInfo, Socket} from 'node:net'

import {seededRandom} from '../../src/backends/local/chaos'

export type FaultKind = 'drop' | 'status500' | 'status503' | 'truncate' | 'stall'

export interface FaultProxyOptions {
  /** s3rver's endpoint, http://127.0.0.1:PORT */
  target: string
  seed: number
  /** probability that a request gets a fault, 0..1 */
  faultRate: number
  maxFaults: number
  lifetimeMs?: number
  /** the faults to draw from (default: drop, status500, status503, truncate) */
  kinds?: FaultKind[]
  /** only requests with this method get faults (default: any) */
  method?: string
}

export interface FaultProxy {
  endpoint: string
  stats: {requests: number; faults: Record<FaultKind, number>}
  stop(): Promise<void>
}

/** mulberry32 (a failing run can be replayed with its seed). */
const prng = seededRandom

const KINDS: FaultKind[] = ['drop', 'status500', 'status503', 'truncate']

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target)
  const random = prng(options.seed)
  const stats = {requests: 0, faults: {drop: 0, status500: 0, status503: 0, truncate: 0, stall: 0} as Record<FaultKind, number>}
  const kinds = options.kinds ?? KINDS
  let faults = 0
  const sockets = new Set<Socket>()
  const agent = new http.Agent({keepAlive: true})

  const server = http.createServer((req, res) => {
    stats.requests++
    let fault: FaultKind | undefined
    if (faults < options.maxFaults && (!options.method || req.method === options.method) && random() < options.faultRate) {
      fault = kinds[Math.floor(random() * kinds.length)]
      faults++
      stats.faults[fault]++
    }
    if (fault === 'drop') {
      req.socket.destroy()
      return
    }
    if (fault === 'status500' || fault === 'status503') {
      req.resume()
      req.on('end', () => {
        const [code, message] = fault === 'status500' ? ['InternalError', 'We encountered an internal error.'] : ['SlowDown', 'Please reduce your request rate.']
        res.writeHead(fault === 'status500' ? 500 : 503, {'content-type': 'application/xml', connection: 'close'})
        res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`)
      })
      return
    }
    const upstream = http.request({host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent}, (upRes) => {
      if (fault !== 'truncate' && fault !== 'stall') {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers)
        upRes.pipe(res)
        return
      }
      // Cut the answer: half the body when there is one, else before any byte is sent.
      const length = req.method === 'HEAD' ? 0 : Number(upRes.headers['content-length'] ?? 0)
      if (length < 2) {
        upRes.resume()
        upRes.on('end', () => req.socket.destroy())
        return
      }
      res.writeHead(upRes.statusCode ?? 502, upRes.headers)
      const cut = Math.floor(length / 2)
      let sent = 0
      upRes.on('data', (chunk: Buffer) => {
        if (sent >= cut) return
        const part = chunk.subarray(0, cut - sent)
        sent += part.length
        res.write(part)
        if (sent >= cut) {
          upRes.destroy()
          // a stall keeps the connection open, silent, until the client gives up (or stop())
          if (fault === 'truncate') req.socket.destroy()
        }
      })
    })
    upstream.on('error', () => req.socket.destroy())
    req.pipe(upstream)
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const stop = async () => {
    clearTimeout(lifetime)
    for (const socket of sockets) socket.destroy()
    agent.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  const lifetime = setTimeout(() => void stop(), options.lifetimeMs ?? 120_000)
  lifetime.unref()
  return {endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stats, stop}
}
