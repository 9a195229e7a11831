/**
 * The dashboard's HTTP server (node:http only). Read-only except cancel. On a loopback address it
 * answers only requests whose Host is that address (no DNS rebinding); on any other address every
 * request, pages and API alike, must carry the access token (?token=, then a SameSite cookie).
 */
import {randomBytes, timingSafeEqual} from 'node:crypto'
import * as http from 'node:http'
import type {AddressInfo} from 'node:net'

import type {Backend} from '../backends/types'
import type {PriceSource} from '../cost/report'
import type {RunStore} from '../runs/run-store'
import {handleApi} from './api'
import {serveAsset} from './assets'
import {DashboardData} from './data'
import {comparePage, listPage, notFoundPage, runPage, type PageInfo} from './pages'
import {isRunId} from './run-param'

export interface UiOptions {
  runs: RunStore
  backend: Backend
  profile: string
  host: string
  port: number
  /** how often live views look for changes, ms */
  pollMs?: number
  /** spot and on-demand prices for the cost report (default: EC2's spot price history and the catalog) */
  prices?: PriceSource
}

export interface UiServer {
  server: http.Server
  url: string
  token?: string
  close(): Promise<void>
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])
export const isLoopback = (host: string) => LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host)
const COOKIE = 'rfm_ui_token'

export async function startUi(options: UiOptions): Promise<UiServer> {
  const token = isLoopback(options.host) ? undefined : randomBytes(18).toString('base64url')
  const data = new DashboardData(options.runs, options.backend, options.prices)
  const info: PageInfo = {store: options.runs.store.url, profile: options.profile}
  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: Error & {hint?: string}) => {
      if (!res.headersSent) sendJson(res, 500, {error: {message: error.message, ...(error.hint ? {hint: error.hint} : {})}})
      else res.end()
    })
  })
  let port = 0

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x')
    const host = (req.headers.host ?? '').toLowerCase()
    if (!token && !isLoopback(host.replace(/:\d+$/, ''))) return sendText(res, 403, 'Forbidden: this dashboard answers on its loopback address only.')
    if (token) {
      const given = url.searchParams.get('token') ?? cookie(req, COOKIE)
      if (!given || !sameSecret(given, token)) return sendText(res, 403, 'Forbidden: this dashboard needs its access token (the ?token= in the URL rfm ui printed).')
      if (url.searchParams.get('token')) res.setHeader('Set-Cookie', `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`)
    }
    res.setHeader('X-Content-Type-Options', 'nosniff')
    res.setHeader('Referrer-Policy', 'no-referrer')
    const path = url.pathname
    if (path.startsWith('/api/')) return handleApi(req, res, url, data, {pollMs: options.pollMs ?? 1000, sendJson})
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'Method not allowed')
    if (path.startsWith('/assets/')) return serveAsset(res, path.slice('/assets/'.length))
    if (path === '/favicon.ico') return void res.writeHead(204).end()
    res.setHeader('Content-Security-Policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
    if (path === '/') return sendHtml(res, 200, listPage(info))
    if (path === '/compare') {
      const ids = (url.searchParams.get('runs') ?? '').split(',').filter(Boolean)
      const bad = ids.find((id) => !isRunId(id))
      if (bad) return sendHtml(res, 404, notFoundPage(info, `"${bad}" is not a run id.`))
      return sendHtml(res, 200, comparePage(info, ids))
    }
    const match = /^\/runs\/([^/]+)\/?$/.exec(path)
    if (match) {
      const id = decodeURIComponent(match[1])
      if (!isRunId(id)) return sendHtml(res, 404, notFoundPage(info, `"${id}" is not a run id.`))
      const run = await data.runs.find(id)
      if (!run) return sendHtml(res, 404, notFoundPage(info, `Run ${id} does not exist in ${info.store}.`))
      return sendHtml(res, 200, runPage(info, run))
    }
    return sendHtml(res, 404, notFoundPage(info, `Nothing at ${path}.`))
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => resolve())
  })
  port = (server.address() as AddressInfo).port
  const shownHost = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host
  const url = `http://${shownHost}:${port}/${token ? `?token=${token}` : ''}`
  return {
    server,
    url,
    ...(token ? {token} : {}),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

function cookie(req: http.IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=')
    if (key === name) return value.join('=')
  }
  return undefined
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store'})
  res.end(JSON.stringify(body))
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, {'Content-Type': 'text/plain; charset=utf-8'})
  res.end(text + '\n')
}

function sendHtml(res: http.ServerResponse, status: number, html: string): void {
  res.writeHead(status, {'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store'})
  res.end(html)
}
