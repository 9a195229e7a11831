// Curves with uPlot: one chart per metric; markers (attempt spans, interruptions, resumes,
// checkpoints) drawn by a small uPlot plugin; exponential-moving-average smoothing.
'use strict'
window.rfmCharts = (() => {
  const PALETTE = ['#2563eb', '#e4572e', '#17a398', '#9c27b0', '#f59e0b', '#4b5563', '#0ea5e9', '#84cc16']
  const MARK = {interruption: '#dc2626', resume: '#16a34a', checkpoint: '#7c3aed'}

  /** Debiased EMA (as TensorBoard's smoothing slider). */
  function smooth(values, weight) {
    if (!weight) return values
    let last = 0
    let n = 0
    return values.map((v) => {
      if (v === null || v === undefined) return v
      last = last * weight + (1 - weight) * v
      n++
      return last / (1 - Math.pow(weight, n))
    })
  }

  /** Tick labels with enough digits for small values (learning rates). */
  function number(v) {
    if (v === 0) return '0'
    const a = Math.abs(v)
    return a >= 1e5 || a < 1e-4 ? v.toExponential(1) : String(Number(v.toPrecision(3)))
  }

  function markerPlugin(getMarkers, xKey) {
    return {
      hooks: {
        drawClear: [
          (u) => {
            const ctx = u.ctx
            const {top, height} = u.bbox
            ctx.save()
            // attempt spans: alternate light bands
            for (const m of getMarkers().filter((m) => m.kind === 'attempt')) {
              if ((m.attempt || 1) % 2 === 1) continue
              const x0 = u.valToPos(xKey === 'time' ? m.time : m.step, 'x', true)
              const x1 = u.valToPos(xKey === 'time' ? m.endTime : m.endStep, 'x', true)
              ctx.fillStyle = 'rgba(100,116,139,0.08)'
              ctx.fillRect(Math.min(x0, x1), top, Math.abs(x1 - x0), height)
            }
            ctx.restore()
          },
        ],
        draw: [
          (u) => {
            const ctx = u.ctx
            const {left, top, width, height} = u.bbox
            ctx.save()
            ctx.beginPath()
            ctx.rect(left, top, width, height)
            ctx.clip()
            for (const m of getMarkers()) {
              if (m.kind === 'attempt') continue
              const x = u.valToPos(xKey === 'time' ? m.time : m.step, 'x', true)
              if (!Number.isFinite(x)) continue
              ctx.strokeStyle = MARK[m.kind]
              ctx.fillStyle = MARK[m.kind]
              ctx.lineWidth = (m.kind === 'interruption' ? 2 : 1.5) * devicePixelRatio
              if (m.kind === 'checkpoint') {
                const s = 5 * devicePixelRatio
                ctx.beginPath()
                ctx.moveTo(x - s, top + height)
                ctx.lineTo(x + s, top + height)
                ctx.lineTo(x, top + height - 1.6 * s)
                ctx.fill()
                continue
              }
              ctx.setLineDash(m.kind === 'interruption' ? [6 * devicePixelRatio, 4 * devicePixelRatio] : [2 * devicePixelRatio, 3 * devicePixelRatio])
              ctx.beginPath()
              ctx.moveTo(x, top)
              ctx.lineTo(x, top + height)
              ctx.stroke()
              if (m.kind === 'interruption') {
                ctx.setLineDash([])
                ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`
                ctx.fillText('⚡', x + 3 * devicePixelRatio, top + 13 * devicePixelRatio)
              }
            }
            ctx.restore()
          },
        ],
      },
    }
  }

  /**
   * One chart: `lines` = [{label, x: number[], y: number[]}] (x in steps, or ms for time);
   * they are aligned on the union of their x values (uPlot wants one x array).
   */
  function chart(container, title, lines, options) {
    const xs = [...new Set(lines.flatMap((l) => l.x))].sort((a, b) => a - b)
    const index = new Map(xs.map((x, i) => [x, i]))
    const ys = lines.map((l) => {
      const y = new Array(xs.length).fill(null)
      l.x.forEach((x, i) => (y[index.get(x)] = l.y[i]))
      return smooth(y, options.smoothing)
    })
    const time = options.xKey === 'time'
    const el = document.createElement('div')
    el.className = 'chart'
    el.dataset.metric = title
    container.appendChild(el)
    const columns = options.columns || 2
    const width = Math.max(320, Math.floor((container.clientWidth - 12 * (columns - 1)) / columns) - 12)
    const u = new uPlot(
      {
        title,
        width,
        height: 230,
        scales: {x: {time: false}},
        axes: [
          {values: (self, ticks) => ticks.map((v) => (time ? new Date(v * (options.timeScale || 1)).toISOString().slice(11, 19) : String(v))), stroke: '#475569', grid: {stroke: '#eef2f7'}},
          {stroke: '#475569', grid: {stroke: '#eef2f7'}, size: 64, values: (self, ticks) => ticks.map(number)},
        ],
        series: [{label: time ? 'time' : 'step'}, ...lines.map((l, i) => ({label: l.label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true, points: {show: xs.length < 60}}))],
        legend: {show: lines.length > 1 || true},
        plugins: options.markers ? [markerPlugin(options.markers, options.xKey)] : [],
      },
      [xs, ...ys],
      el,
    )
    return u
  }

  return {chart, smooth, PALETTE}
})()
