/**
 * /api/: JSON with the shapes of the CLI's --json output (src/schemas), live updates by
 * Server-Sent Events, and cancel (POST, confirmed by the run id in the body).
 *   GET  /api/runs                      rfm cloud ls --json            (cloud-ls)
 *   GET  /api/dashboard                 the list page's rows            (ui-dashboard)
 *   GET  /api/runs/<id>                 rfm cloud status --json         (cloud-status)
 *   GET  /api/runs/<id>/metrics         curves, downsampled, markers    (ui-metrics)
 *   GET  /api/runs/<id>/logs            rfm cloud logs --json           (cloud-logs)
 *   GET  /api/runs/<id>/cost            rfm cloud cost RUN --json       (cloud-cost)
 *   GET  /api/runs/<id>/checkpoints     rfm ckpt ls --json              (ckpt-ls)
 *   GET  /api/runs/<id>/results         evaluation tables found         (ui-results)
 *   POST /api/runs/<id>/cancel          rfm cloud cancel --json         (cloud-cancel)
 *   GET  /api/stream[?run=<id>]         SSE: `runs` (list rows) or `run` (a change fingerprint)
 */
import type * as http from 'node:http'

import {FINAL_STATES} from '../runs/record'
import type {DashboardData} from './data'
import {isRunId} from './run-param'

interface ApiTools {
  pollMs: number
  sendJson(res: http.ServerResponse, status: number, body: unknown): void
}

const DEFAULT_BUCKETS = 1000
const CANCEL_GRACE_SECONDS = 10

export async function handleApi(req: http.IncomingMessage, res: http.ServerResponse, url: URL, data: DashboardData, tools: ApiTools): Promise<void> {
  const {sendJson} = tools
  const notFound = (message: string) => sendJson(res, 404, {error: {code: 'not_found', message}})
  const path = url.pathname
  if (req.method === 'POST') {
    const match = /^\/api\/runs\/([^/]+)\/cancel$/.exec(path)
    if (!match) return sendJson(res, 405, {error: {code: 'method', message: 'The dashboard is read-only except POST /api/runs/<id>/cancel.'}})
    return cancel(req, res, decodeURIComponent(match[1]), data, sendJson)
  }
  if (req.method !== 'GET') return sendJson(res, 405, {error: {code: 'method', message: 'Method not allowed.'}})
  if (path === '/api/runs') return sendJson(res, 200, await data.list())
  if (path === '/api/dashboard') return sendJson(res, 200, {runs: await data.rows()})
  if (path === '/api/stream') return stream(req, res, url, data, tools.pollMs)
  const match = /^\/api\/runs\/([^/]+)(?:\/(metrics|logs|cost|checkpoints|results))?$/.exec(path)
  if (!match) return notFound(`No API at ${path}.`)
  const id = decodeURIComponent(match[1])
  if (!isRunId(id)) return notFound(`"${id}" is not a run id.`)
  if (!(await data.runs.find(id))) return notFound(`Run ${id} does not exist in ${data.runs.store.url}.`)
  switch (match[2]) {
    case undefined:
      return sendJson(res, 200, await data.status(id))
    case 'metrics': {
      const buckets = clampInt(url.searchParams.get('buckets'), DEFAULT_BUCKETS, 10, 20_000)
      return sendJson(res, 200, await data.metricsResult(id, buckets))
    }
    case 'logs': {
      const attempt = url.searchParams.get('attempt') ? clampInt(url.searchParams.get('attempt'), 1, 1, 100_000) : undefined
      const tail = url.searchParams.get('tail') ? clampInt(url.searchParams.get('tail'), 65_536, 1, 64 * 1024 * 1024) : undefined
      return sendJson(res, 200, await data.logs(id, {attempt, tail}))
    }
    case 'cost':
      return sendJson(res, 200, await data.costReport(id))
    case 'checkpoints':
      return sendJson(res, 200, await data.checkpoints(id))
    case 'results':
      return sendJson(res, 200, await data.results(id))
  }
}

function clampInt(text: string | null, fallback: number, min: number, max: number): number {
  const n = Number(text)
  return text === null || !Number.isInteger(n) ? fallback : Math.min(max, Math.max(min, n))
}

/**
 * Cancel needs: the page's own origin (a browser sends Origin on a cross-site POST; a foreign page
 * cannot forge it), a JSON body (a cross-site form cannot send one without a CORS preflight, which
 * this server never grants) and that body naming the run again — the confirmation.
 */
async function cancel(req: http.IncomingMessage, res: http.ServerResponse, id: string, data: DashboardData, sendJson: ApiTools['sendJson']): Promise<void> {
  const origin = req.headers.origin
  if (origin && origin !== `http://${req.headers.host}`) return sendJson(res, 403, {error: {code: 'origin', message: "Cancel is accepted from the dashboard's own pages only."}})
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) return sendJson(res, 415, {error: {code: 'content_type', message: 'Send {"confirm": "<run id>"} as application/json.'}})
  if (!isRunId(id)) return sendJson(res, 404, {error: {code: 'not_found', message: `"${id}" is not a run id.`}})
  let body = ''
  for await (const chunk of req) {
    body += String(chunk)
    if (body.length > 4096) return sendJson(res, 413, {error: {code: 'too_large', message: 'Body too large.'}})
  }
  let confirm: unknown
  try {
    confirm = (JSON.parse(body) as {confirm?: unknown}).confirm
  } catch {
    confirm = undefined
  }
  if (confirm !== id) return sendJson(res, 400, {error: {code: 'unconfirmed', message: `Confirm the cancel with {"confirm": "${id}"}.`}})
  const before = await data.record(id)
  if (!before) return sendJson(res, 404, {error: {code: 'not_found', message: `Run ${id} does not exist.`}})
  if (FINAL_STATES.has(before.state)) return sendJson(res, 200, {run: before, alreadyFinished: true})
  const run = await data.backend.cancel(before, data.runs, {graceSeconds: CANCEL_GRACE_SECONDS})
  return sendJson(res, 200, {run, alreadyFinished: FINAL_STATES.has(run.state) && run.state !== 'cancelled'})
}

/** Server-Sent Events: polls the store every pollMs and sends only what changed. */
function stream(req: http.IncomingMessage, res: http.ServerResponse, url: URL, data: DashboardData, pollMs: number): void {
  const runId = url.searchParams.get('run') ?? undefined
  if (runId !== undefined && !isRunId(runId)) {
    res.writeHead(404, {'Content-Type': 'application/json'})
    res.end(JSON.stringify({error: {code: 'not_found', message: `"${runId}" is not a run id.`}}))
    return
  }
  res.writeHead(200, {'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive'})
  res.write(`retry: ${Math.max(1000, pollMs)}\n\n`)
  let last = ''
  let busy = false
  let beats = 0
  const tick = async () => {
    if (busy) return
    busy = true
    try {
      const [event, payload] = runId ? ['run', JSON.stringify({fingerprint: await data.fingerprint(runId)})] : ['runs', JSON.stringify({runs: await data.rows()})]
      if (payload !== last) {
        last = payload
        res.write(`event: ${event}\ndata: ${payload}\n\n`)
      } else if (++beats % 15 === 0) res.write(': alive\n\n')
    } catch (error) {
      res.write(`event: problem\ndata: ${JSON.stringify({message: (error as Error).message})}\n\n`)
    } finally {
      busy = false
    }
  }
  const timer = setInterval(tick, pollMs)
  void tick()
  req.once('close', () => clearInterval(timer))
}
