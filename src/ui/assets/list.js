// The runs list: /api/dashboard rows, filtered by state and kind, kept current by SSE (`runs`).
'use strict'
;(() => {
  const {esc, usd, when, state, live} = window.rfm
  const body = document.querySelector('#runs tbody')
  const stateFilter = document.getElementById('filter-state')
  const kindFilter = document.getElementById('filter-kind')
  const compare = document.getElementById('compare')
  const params = new URLSearchParams(location.search)
  stateFilter.value = params.get('state') || ''
  let rows = []
  const selected = new Set()

  function cost(row) {
    if (!row.cost.applicable) return `<span class="muted" title="${esc(row.cost.note || '')}">n/a</span>`
    if (row.cost.total === null) return `<span class="muted" title="${esc(row.cost.note || '')}">?</span>`
    return usd(row.cost.total)
  }

  function render() {
    const kinds = [...new Set(rows.map((r) => r.kind))].sort()
    const wantKind = kindFilter.value || params.get('kind') || ''
    kindFilter.innerHTML = `<option value="">all</option>${kinds.map((k) => `<option${k === wantKind ? ' selected' : ''}>${esc(k)}</option>`).join('')}`
    const shown = rows.filter((r) => (!stateFilter.value || r.state === stateFilter.value) && (!kindFilter.value || r.kind === kindFilter.value))
    body.innerHTML = shown.length
      ? shown
          .map(
            (r) => `<tr data-run="${esc(r.id)}" data-state="${esc(r.state)}">
  <td><input type="checkbox" class="pick" value="${esc(r.id)}"${selected.has(r.id) ? ' checked' : ''}></td>
  <td><a href="/runs/${encodeURIComponent(r.id)}" class="mono">${esc(r.id)}</a></td>
  <td>${esc(r.name || '')}</td><td>${esc(r.kind)}</td><td>${state(r.state)}</td><td>${esc(r.backend)}</td>
  <td>${when(r.createdAt)}</td><td>${esc(r.duration)}</td><td class="num">${r.attempts}</td>
  <td class="num">${r.interruptions ? `<span class="int">${r.interruptions}</span>` : '0'}</td><td class="num">${cost(r)}</td></tr>`,
          )
          .join('')
      : `<tr><td colspan="11" class="muted">${rows.length ? 'No runs match.' : 'No runs yet. Start one with <code>rfm cloud launch</code>.'}</td></tr>`
    for (const box of body.querySelectorAll('input.pick')) {
      box.addEventListener('change', () => {
        box.checked ? selected.add(box.value) : selected.delete(box.value)
        compare.disabled = selected.size < 2
      })
    }
    compare.disabled = selected.size < 2
  }
  stateFilter.addEventListener('change', render)
  kindFilter.addEventListener('change', render)
  compare.addEventListener('click', () => (location.href = `/compare?runs=${[...selected].map(encodeURIComponent).join(',')}`))
  live('/api/stream', {
    runs: (data) => {
      rows = data.runs
      render()
    },
  })
})()
