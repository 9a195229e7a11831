/**
 * The dashboard's static files: its own (src/ui/assets, shipped in the package) and uPlot's dist
 * build (the `uplot` dependency). Only the names below are served: nothing else on disk is reachable.
 */
import {createReadStream} from 'node:fs'
import type * as http from 'node:http'
import * as path from 'node:path'

/** The package root, from src/ui (ts) or dist/src/ui (js). */
const ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..')
const OWN = path.join(ROOT, 'src', 'ui', 'assets')

function uplotFile(name: string): string {
  return path.join(path.dirname(require.resolve('uplot/package.json')), 'dist', name)
}

const TYPES: Record<string, string> = {'.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.png': 'image/png'}

const FILES: Record<string, () => string> = {
  'uPlot.iife.min.js': () => uplotFile('uPlot.iife.min.js'),
  'uPlot.min.css': () => uplotFile('uPlot.min.css'),
  ...Object.fromEntries(['app.css', 'common.js', 'charts.js', 'list.js', 'run.js', 'compare.js'].map((name) => [name, () => path.join(OWN, name)])),
}

export function assetPath(name: string): string | undefined {
  return Object.hasOwn(FILES, name) ? FILES[name]() : undefined
}

export function serveAsset(res: http.ServerResponse, name: string): void {
  const file = assetPath(name)
  if (!file) {
    res.writeHead(404, {'Content-Type': 'text/plain; charset=utf-8'})
    res.end('Not found\n')
    return
  }
  const stream = createReadStream(file)
  stream.once('open', () => {
    res.writeHead(200, {'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'max-age=300'})
    stream.pipe(res)
  })
  stream.once('error', () => {
    if (!res.headersSent) res.writeHead(404, {'Content-Type': 'text/plain; charset=utf-8'})
    res.end('Not found\n')
  })
}
