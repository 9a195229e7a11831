// Two or more runs' curves on shared charts, one per metric they have in common or not.
'use strict'
;(() => {
  const {esc, api} = window.rfm
  const el = (x) => document.getElementById(x)
  const picked = new Set((document.body.dataset.runs || '').split(',').filter(Boolean))
  const chosen = new Set()
  const loaded = new Map()
  let all = []

  async function refresh() {
    all = (await api('/api/runs')).runs
    el('run-picker').innerHTML = all
      .map(
        (r) => `<label class="chip"><input type="checkbox" value="${esc(r.id)}"${picked.has(r.id) ? ' checked' : ''}> <span class="mono">${esc(r.id)}</span>${r.name ? ` ${esc(r.name)}` : ''}</label>`,
      )
      .join('')
    for (const input of el('run-picker').querySelectorAll('input')) {
      input.addEventListener('change', async () => {
        input.checked ? picked.add(input.value) : picked.delete(input.value)
        history.replaceState(null, '', `/compare?runs=${[...picked].map(encodeURIComponent).join(',')}`)
        await draw()
      })
    }
    await draw()
  }

  async function draw() {
    for (const id of picked) if (!loaded.has(id)) loaded.set(id, await api(`/api/runs/${encodeURIComponent(id)}/metrics`))
    const runs = [...picked].filter((id) => loaded.has(id))
    const rank = (m) => (m === 'loss' ? 0 : m.startsWith('eval') ? 1 : /^lr/.test(m) ? 2 : 3)
    const metrics = [...new Set(runs.flatMap((id) => loaded.get(id).series.map((s) => s.metric)))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    if (chosen.size === 0) metrics.filter((m) => m === 'loss' || m.startsWith('eval_')).forEach((m) => chosen.add(m))
    el('metric-picker').innerHTML = metrics.map((m) => `<label class="chip"><input type="checkbox" value="${esc(m)}"${chosen.has(m) ? ' checked' : ''}> ${esc(m)}</label>`).join('')
    for (const input of el('metric-picker').querySelectorAll('input')) {
      input.addEventListener('change', () => {
        input.checked ? chosen.add(input.value) : chosen.delete(input.value)
        void draw()
      })
    }
    const box = el('charts')
    box.innerHTML = runs.length < 2 ? '<p class="muted">Pick two or more runs.</p>' : ''
    if (runs.length < 2) return
    const xKey = el('x-axis').value
    const smoothing = Number(el('smoothing').value)
    for (const metric of metrics.filter((m) => chosen.has(m))) {
      const lines = runs.flatMap((id) => {
        const s = loaded.get(id).series.find((s) => s.metric === metric)
        if (!s) return []
        // time since the run's first point: runs started at different moments line up
        const t0 = Math.min(...loaded.get(id).series.flatMap((x) => x.time.slice(0, 1)))
        return [{label: id, x: xKey === 'time' ? s.time.map((t) => Math.round((t - t0) / 1000)) : s.step, y: s.value}]
      })
      window.rfmCharts.chart(box, metric, lines, {xKey: 'step', smoothing, columns: 2})
    }
    document.body.dataset.drawn = String(runs.length)
  }

  el('x-axis').addEventListener('change', () => void draw())
  el('smoothing').addEventListener('input', () => {
    el('smoothing-value').textContent = el('smoothing').value
    void draw()
  })
  void refresh()
})()
