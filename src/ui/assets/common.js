// Shared helpers of the dashboard's pages (plain browser JS, no build step).
'use strict'
window.rfm = (() => {
  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c])
  async function api(path) {
    const res = await fetch(path, {headers: {Accept: 'application/json'}})
    const body = await res.json()
    if (!res.ok) throw new Error(body?.error?.message || res.statusText)
    return body
  }
  const usd = (n) => (n === null || n === undefined ? '?' : `$${n.toFixed(n < 1 ? 4 : 2)}`)
  function duration(seconds) {
    if (seconds < 60) return `${Math.round(seconds * 10) / 10}s`
    const s = Math.round(seconds)
    const h = Math.floor(s / 3600)
    const m = Math.floor((s % 3600) / 60)
    return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`
  }
  function bytes(n) {
    const units = ['B', 'KB', 'MB', 'GB', 'TB']
    let i = 0
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024
      i++
    }
    return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`
  }
  const when = (iso) => (iso ? iso.replace('T', ' ').slice(0, 19) : '-')
  const state = (s) => `<span class="state s-${esc(s)}">${esc(s)}</span>`
  /** Server-Sent Events with the live dot in the header showing the connection. */
  function live(path, handlers) {
    const dot = document.getElementById('live')
    const source = new EventSource(path)
    source.onopen = () => dot && dot.classList.add('on')
    source.onerror = () => dot && dot.classList.remove('on')
    for (const [event, handler] of Object.entries(handlers)) source.addEventListener(event, (e) => handler(JSON.parse(e.data)))
    return source
  }
  function table(el, headers, rows) {
    el.innerHTML = `<thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.length ? rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('') : `<tr><td colspan="${headers.length}" class="muted">none</td></tr>`}</tbody>`
  }
  return {esc, api, usd, duration, bytes, when, state, live, table}
})()
