// One run: facts, curves with markers, attempts, cost, checkpoints, results, live log, config.
'use strict'
;(() => {
  const {esc, api, usd, duration, bytes, when, state, live, table} = window.rfm
  const id = document.body.dataset.run
  const base = `/api/runs/${encodeURIComponent(id)}`
  const el = (x) => document.getElementById(x)
  const chosen = new Set()
  let status
  let metrics
  let pickerBuilt = false

  function describeResult(a) {
    if (!a.endedAt) return 'running'
    const how = a.signal ? a.signal : `exit ${a.exitCode}`
    return `${how}${a.chaos ? ' (chaos)' : a.interruptedBy ? ` (${a.interruptedBy})` : ''}`
  }

  function renderStatus() {
    const {run, live: view} = status
    const shown = view.state || run.state
    el('run-state').outerHTML = `<span id="run-state">${state(shown)}</span>`
    const start = Date.parse(run.attempts[0]?.startedAt || run.createdAt)
    const end = run.endedAt ? Date.parse(run.endedAt) : Date.now()
    const reason = view.reason || (run.state !== 'running' ? run.reason : '')
    const facts = [
      ['Name', run.name || '-'],
      ['Kind', run.kind],
      ['Backend', `${run.backend.name} (profile ${run.profile})`],
      ['Created', when(run.createdAt)],
      ['Duration', duration(Math.max(0, (end - start) / 1000))],
      ['Attempts', String(run.attempts.length)],
      ...(reason ? [['Reason', reason]] : []),
      ...(view.status ? [['Backend status', view.status]] : []),
    ]
    el('run-facts').innerHTML = facts.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')
    el('cancel').hidden = ['succeeded', 'failed', 'cancelled'].includes(run.state)
    table(
      el('attempts'),
      ['Attempt', 'Started', 'Ended', 'Resumed', 'Checkpoints', 'Result', 'Next'],
      run.attempts.map((a) => [
        String(a.index),
        when(a.startedAt),
        a.endedAt ? when(a.endedAt).slice(11) : '-',
        a.resumedFromStep === undefined ? '-' : `step ${a.resumedFromStep}`,
        a.checkpointsCommitted ? `${a.checkpointsCommitted} (last ${a.lastCheckpointStep})` : '-',
        a.chaos || a.interruptedBy || a.action === 'retry' ? `<span class="int">${esc(describeResult(a))}</span>` : esc(describeResult(a)),
        esc(a.action || ''),
      ]),
    )
    el('config').textContent = JSON.stringify({config: run.config, source: run.source, retries: run.retries, ...(run.timeoutSeconds ? {timeoutSeconds: run.timeoutSeconds} : {})}, null, 2)
    const select = el('log-attempt')
    const want = select.value
    select.innerHTML = run.attempts.map((a) => `<option value="${a.index}">${a.index}</option>`).join('')
    select.value = want && Number(want) <= run.attempts.length && !el('log-follow').checked ? want : String(run.attempts.length || '')
  }

  function renderCost(report) {
    const r = report.runs[0]
    if (!r.applicable) {
      el('cost').innerHTML =
        `<p class="cost-total">Cost not applicable — ${esc(r.note)}.</p><p class="muted">${r.attempts.length ? '' : 'Local runs use this machine; AWS Batch runs are priced per attempt at the spot price in force.'}</p>`
      return
    }
    el('cost').innerHTML =
      `<table class="grid" id="cost-table"></table><p class="cost-total">Total <b>${usd(r.totalCost)}</b> vs ${usd(r.onDemandCost)} on-demand (saved ${usd(r.savings)}), of which ${usd(r.overheadCost)} for ${duration(r.overheadSeconds || 0)} of instance start (boot, image pull) before the containers ran; ${duration(r.lostSeconds)} of work lost to interruptions (${usd(r.lostCost)}).${r.note ? `<br><span class="muted">Note: ${esc(r.note)}.</span>` : ''}</p>`
    table(
      el('cost-table'),
      ['Attempt', 'Instance', 'Zone', 'Market', 'Duration', 'Overhead', '$/h', 'Cost', 'On-demand', 'Lost'],
      r.attempts.map((a) => [
        `${a.arrayIndex === undefined ? '' : `[${a.arrayIndex}] `}${a.attempt}${a.interrupted ? ' <span class="int">⚡</span>' : ''}`,
        esc(a.instanceType || '?'),
        esc(a.availabilityZone || '?'),
        esc(a.market),
        duration(a.seconds),
        `+${duration(a.overheadSeconds || 0)} <span class="muted" title="${esc(a.chargedFromBasis || '')}">${esc(a.chargedFromSource || 'batch')}</span>`,
        a.pricePerHour === null ? '?' : a.pricePerHour.toFixed(4),
        usd(a.cost),
        usd(a.onDemandCost),
        duration(a.lostSeconds),
      ]),
    )
  }

  function renderCheckpoints(data) {
    table(
      el('checkpoints'),
      ['Step', 'Created', 'Attempt', 'Files', 'Size', 'Tags', 'Pull'],
      data.checkpoints.map((c) => {
        const line = `rfm ckpt pull ${id} ./${id}-step-${c.step} --step ${c.step}`
        return [
          String(c.step),
          when(c.createdAt),
          String(c.attempt ?? '-'),
          String(c.files),
          bytes(c.bytes),
          esc(c.tags.join(', ')),
          `<code class="pull">${esc(line)}</code> <button class="copy" data-copy="${esc(line)}">copy</button>`,
        ]
      }),
    )
  }

  function renderResults(data) {
    el('results-card').hidden = data.tables.length === 0
    el('results').innerHTML = data.tables
      .map(
        (t) =>
          `<p class="muted mono">${esc(t.source)}</p><table class="grid">${`<thead><tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>`}<tbody>${t.rows.map((r) => `<tr>${t.columns.map((c) => `<td>${esc(typeof r[c] === 'number' && !Number.isInteger(r[c]) ? r[c].toPrecision(4) : r[c])}</td>`).join('')}</tr>`).join('')}</tbody></table>`,
      )
      .join('')
  }

  /** Loss and eval curves first, then the learning rate, then the rest. */
  function order(name) {
    return name === 'loss' ? 0 : name.startsWith('eval') ? 1 : /^lr/.test(name) ? 2 : 3
  }
  function defaultPick(name) {
    return name === 'loss' || /^eval_(loss|accuracy)/.test(name) || name === 'lr' || /^(loss|lr|eval)/.test(name)
  }

  function renderCharts() {
    const box = el('charts')
    const series = [...metrics.series].sort((a, b) => order(a.metric) - order(b.metric) || a.metric.localeCompare(b.metric))
    if (!pickerBuilt && series.length) {
      pickerBuilt = true
      for (const s of series) if (defaultPick(s.metric)) chosen.add(s.metric)
      if (chosen.size === 0) series.slice(0, 4).forEach((s) => chosen.add(s.metric))
    }
    el('metric-picker').innerHTML = series.map((s) => `<label class="chip"><input type="checkbox" value="${esc(s.metric)}"${chosen.has(s.metric) ? ' checked' : ''}> ${esc(s.metric)}</label>`).join('')
    for (const input of el('metric-picker').querySelectorAll('input')) {
      input.addEventListener('change', () => {
        input.checked ? chosen.add(input.value) : chosen.delete(input.value)
        renderCharts()
      })
    }
    box.innerHTML = ''
    if (series.length === 0) {
      box.innerHTML = '<p class="muted">No metrics yet: built-in trainers write metrics.jsonl as they log; external commands do not.</p>'
    }
    const xKey = el('x-axis').value
    const smoothing = Number(el('smoothing').value)
    for (const s of series.filter((s) => chosen.has(s.metric))) {
      const x = xKey === 'time' ? s.time : s.step
      window.rfmCharts.chart(box, s.metric + (s.count > s.value.length ? ` (${s.count} points, downsampled)` : ''), [{label: s.metric, x, y: s.value}], {
        xKey,
        smoothing,
        markers: () => metrics.markers,
        columns: 2,
      })
    }
    el('marker-list').innerHTML = metrics.markers
      .filter((m) => m.kind === 'interruption' || m.kind === 'resume')
      .map((m) => `<li class="m-${m.kind}">${esc(m.label)} <span class="muted">(step ${m.step}, ${when(new Date(m.time).toISOString())})</span></li>`)
      .join('')
  }

  async function loadLog() {
    const attempt = el('log-attempt').value
    if (!attempt) return
    const data = await api(`${base}/logs?attempt=${attempt}&tail=65536`)
    const pre = el('log')
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4
    pre.textContent = data.attempts[0]?.log || '(empty)'
    if (atBottom || el('log-follow').checked) pre.scrollTop = pre.scrollHeight
  }

  let loading = false
  let again = false
  async function load() {
    if (loading) return void (again = true)
    loading = true
    try {
      // Each part on its own: one that fails (no prices without AWS credentials) says so in place.
      const part = async (target, work) => {
        try {
          await work()
        } catch (error) {
          el(target).innerHTML = `<p class="error">${esc(error.message)}</p>`
        }
      }
      await part('run-facts', async () => {
        status = await api(base)
        renderStatus()
      })
      await part('charts', async () => {
        metrics = await api(`${base}/metrics`)
        renderCharts()
      })
      await part('checkpoints', async () => renderCheckpoints(await api(`${base}/checkpoints`)))
      await part('cost', async () => renderCost(await api(`${base}/cost`)))
      await part('results', async () => renderResults(await api(`${base}/results`)))
      await part('log', loadLog)
      document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1)
    } finally {
      loading = false
      if (again) {
        again = false
        void load()
      }
    }
  }

  el('x-axis').addEventListener('change', () => metrics && renderCharts())
  el('smoothing').addEventListener('input', () => {
    el('smoothing-value').textContent = el('smoothing').value
    if (metrics) renderCharts()
  })
  el('log-attempt').addEventListener('change', () => {
    el('log-follow').checked = false
    void loadLog()
  })
  document.addEventListener('click', (e) => {
    const button = e.target.closest('button.copy')
    if (!button) return
    navigator.clipboard?.writeText(button.dataset.copy).then(
      () => (button.textContent = 'copied'),
      () => (button.textContent = 'select it'),
    )
  })
  el('cancel').addEventListener('click', async () => {
    if (!confirm(`Cancel run ${id}? The job gets SIGTERM (time to checkpoint), then SIGKILL after 10 s.`)) return
    el('cancel').disabled = true
    const res = await fetch(`${base}/cancel`, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({confirm: id})})
    const body = await res.json()
    if (!res.ok) alert(body?.error?.message || res.statusText)
    el('cancel').disabled = false
    void load()
  })
  let resizeTimer
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer)
    resizeTimer = setTimeout(() => metrics && renderCharts(), 200)
  })
  live(`/api/stream?run=${encodeURIComponent(id)}`, {run: () => void load()})
})()
