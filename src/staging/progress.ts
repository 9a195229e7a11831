/**
 * Progress of a long transfer: on a terminal, one line redrawn in place (bar, bytes, files, rate,
 * ETA); otherwise a plain line every few seconds ($RFM_PROGRESS_INTERVAL_MS, default 5000); under
 * --json nothing at all. It writes to stderr so stdout stays the command's result.
 */
export type ProgressMode = 'tty' | 'plain' | 'silent'

export interface ProgressOptions {
  label: string
  totalBytes: number
  totalFiles: number
  mode: ProgressMode
  stream?: NodeJS.WritableStream
  intervalMs?: number
}

export function progressMode(json: boolean, stream: {isTTY?: boolean} = process.stderr): ProgressMode {
  return json ? 'silent' : stream.isTTY ? 'tty' : 'plain'
}

export class Progress {
  bytes = 0
  files = 0
  private readonly started = Date.now()
  private lastDraw = 0
  private timer?: NodeJS.Timeout
  private readonly stream: NodeJS.WritableStream

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr
    if (options.mode === 'plain' && options.totalFiles > 0) {
      // One line at the start, so even a short transfer says what it is doing.
      this.stream.write(this.line() + '\n')
      const interval = options.intervalMs ?? Number(process.env.RFM_PROGRESS_INTERVAL_MS ?? 5000)
      this.timer = setInterval(() => this.stream.write(this.line() + '\n'), interval)
      this.timer.unref()
    }
  }

  addBytes(n: number): void {
    this.bytes += n
    this.draw()
  }

  fileDone(): void {
    this.files++
    this.draw()
  }

  /** Stops the display; a terminal's progress line is cleared, a plain one ends with the final figures. */
  finish(): void {
    if (this.timer) clearInterval(this.timer)
    if (this.options.mode === 'plain' && this.options.totalFiles > 0) this.stream.write(this.line() + '\n')
    if (this.options.mode === 'tty' && this.lastDraw > 0) this.stream.write('\r\u001B[2K')
  }

  line(): string {
    const {label, totalBytes, totalFiles} = this.options
    const seconds = Math.max(0.001, (Date.now() - this.started) / 1000)
    const rate = this.bytes / seconds
    const left = totalBytes - this.bytes
    // The first second's rate is mostly start-up noise; an ETA from it would only mislead.
    const eta = left <= 0 ? '0s' : rate > 0 && seconds >= 1 ? formatSeconds(left / rate) : '?'
    const pct = totalBytes > 0 ? Math.floor((100 * this.bytes) / totalBytes) : totalFiles > 0 ? Math.floor((100 * this.files) / totalFiles) : 100
    const figures = `${formatBytes(this.bytes)}/${formatBytes(totalBytes)}  ${this.files}/${totalFiles} files  ${formatBytes(rate)}/s  ETA ${eta}`
    if (this.options.mode !== 'tty') return `${label}: ${pct}%  ${figures}`
    const width = 24
    const filled = Math.min(width, Math.round((pct / 100) * width))
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}%  ${figures}`
  }

  private draw(): void {
    if (this.options.mode !== 'tty') return
    const now = Date.now()
    if (now - this.lastDraw < 100) return
    this.lastDraw = now
    this.stream.write('\r\u001B[2K' + this.line())
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let value = n
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
}
