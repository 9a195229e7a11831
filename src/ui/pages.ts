/**
 * The dashboard's HTML shells. The pages fill themselves from /api/ (assets/*.js); what they need
 * to start travels in data- attributes (the Content-Security-Policy allows no inline script).
 */
import type {RunRecord} from '../runs/record'

export interface PageInfo {
  store: string
  profile: string
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c]!)
}

function layout(info: PageInfo, title: string, body: string, scripts: string[], attributes: Record<string, string> = {}): string {
  const data = Object.entries(attributes)
    .map(([key, value]) => ` data-${key}="${escapeHtml(value)}"`)
    .join('')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · rfm</title>
<link rel="stylesheet" href="/assets/uPlot.min.css">
<link rel="stylesheet" href="/assets/app.css">
</head>
<body${data}>
<header class="top">
  <a class="brand" href="/">rfm</a>
  <nav><a href="/">Runs</a><a href="/compare">Compare</a></nav>
  <span class="store" title="profile ${escapeHtml(info.profile)}">${escapeHtml(info.profile)} · ${escapeHtml(info.store)}</span>
  <span id="live" class="live" title="live updates">●</span>
</header>
<main>
${body}
</main>
${scripts.map((s) => `<script src="/assets/${s}"></script>`).join('\n')}
</body>
</html>
`
}

export function listPage(info: PageInfo): string {
  return layout(
    info,
    'Runs',
    `<section class="card">
  <div class="toolbar">
    <h1>Runs</h1>
    <label>State <select id="filter-state"><option value="">all</option>${['queued', 'running', 'succeeded', 'failed', 'cancelled', 'lost'].map((s) => `<option>${s}</option>`).join('')}</select></label>
    <label>Kind <select id="filter-kind"><option value="">all</option></select></label>
    <button id="compare" disabled>Compare selected</button>
  </div>
  <table class="grid" id="runs">
    <thead><tr><th></th><th>Run</th><th>Name</th><th>Kind</th><th>State</th><th>Backend</th><th>Created</th><th>Duration</th><th>Attempts</th><th>Interruptions</th><th>Cost so far</th></tr></thead>
    <tbody><tr><td colspan="11" class="muted">Loading…</td></tr></tbody>
  </table>
</section>`,
    ['common.js', 'list.js'],
  )
}

export function runPage(info: PageInfo, run: RunRecord): string {
  return layout(
    info,
    run.id,
    `<section class="card head">
  <div class="toolbar">
    <h1 id="run-title">${escapeHtml(run.id)}</h1>
    <span id="run-state" class="state"></span>
    <span class="spacer"></span>
    <button id="cancel" class="danger" hidden>Cancel run…</button>
  </div>
  <dl id="run-facts" class="facts"></dl>
</section>
<section class="card">
  <div class="toolbar">
    <h2>Curves</h2>
    <label>x <select id="x-axis"><option value="step">step</option><option value="time">time</option></select></label>
    <label>Smoothing <input id="smoothing" type="range" min="0" max="0.99" step="0.01" value="0"> <span id="smoothing-value">0</span></label>
    <span class="legend-keys"><i class="k-int"></i>interruption <i class="k-res"></i>resume <i class="k-ckpt"></i>checkpoint</span>
  </div>
  <div id="metric-picker" class="picker"></div>
  <div id="charts" class="charts"><p class="muted">Loading…</p></div>
  <ul id="marker-list" class="markers"></ul>
</section>
<div class="cols">
  <section class="card"><h2>Attempts</h2><table class="grid" id="attempts"></table></section>
  <section class="card"><h2>Cost</h2><div id="cost"></div></section>
</div>
<section class="card"><h2>Checkpoints</h2><table class="grid" id="checkpoints"></table></section>
<section class="card" id="results-card" hidden><h2>Evaluation results</h2><div id="results"></div></section>
<section class="card"><div class="toolbar"><h2>Log</h2><label>Attempt <select id="log-attempt"></select></label><label><input id="log-follow" type="checkbox" checked> follow</label></div><pre id="log" class="log"></pre></section>
<section class="card"><h2>Config</h2><pre id="config" class="config"></pre></section>`,
    ['uPlot.iife.min.js', 'common.js', 'charts.js', 'run.js'],
    {run: run.id},
  )
}

export function comparePage(info: PageInfo, ids: string[]): string {
  return layout(
    info,
    'Compare',
    `<section class="card">
  <div class="toolbar">
    <h1>Compare runs</h1>
    <label>x <select id="x-axis"><option value="step">step</option><option value="time">time since start</option></select></label>
    <label>Smoothing <input id="smoothing" type="range" min="0" max="0.99" step="0.01" value="0"> <span id="smoothing-value">0</span></label>
  </div>
  <div id="run-picker" class="picker"></div>
  <div id="metric-picker" class="picker"></div>
  <div id="charts" class="charts"><p class="muted">Pick two or more runs.</p></div>
</section>`,
    ['uPlot.iife.min.js', 'common.js', 'charts.js', 'compare.js'],
    {runs: ids.join(',')},
  )
}

export function notFoundPage(info: PageInfo, message: string): string {
  return layout(info, 'Not found', `<section class="card notfound"><h1>404 · not found</h1><p>${escapeHtml(message)}</p><p><a href="/">All runs</a></p></section>`, [])
}
