import type {ObjectStore} from '../../store/types'

/** Beyond this much unsent output (a long store outage), the oldest is dropped with a note. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024

/**
 * Batches a process's output into appends to a log object, in order, at most every `intervalMs`.
 * A failed append never throws: its bytes go back to the front of the buffer and are sent with the
 * next flush, so a store outage delays the log instead of stopping the process that writes it.
 */
export class LogAppender {
  private pending: Buffer[] = []
  private pendingBytes = 0
  private droppedBytes = 0
  private chain: Promise<void> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined
  /** the last append error, until an append succeeds again */
  lastError: Error | undefined

  constructor(
    private readonly store: ObjectStore,
    private readonly key: string,
    private readonly intervalMs = 200,
  ) {}

  write(chunk: Buffer | string): void {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    this.pending.push(buffer)
    this.pendingBytes += buffer.length
    while (this.pendingBytes > MAX_BUFFERED_BYTES && this.pending.length > 1) {
      const dropped = this.pending.shift() as Buffer
      this.pendingBytes -= dropped.length
      this.droppedBytes += dropped.length
    }
    this.schedule(this.intervalMs)
  }

  /** Sends what is buffered; resolves (never rejects) once sent, or once this try has failed. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.chain = this.chain.then(() => this.send())
    return this.chain
  }

  /** true when everything written so far has reached the store */
  get drained(): boolean {
    return this.pending.length === 0
  }

  private schedule(delayMs: number): void {
    // unref: a retry pending after the last flush must not keep a finished process alive.
    this.timer ??= setTimeout(() => void this.flush(), delayMs).unref()
  }

  private async send(): Promise<void> {
    if (this.pending.length === 0) return
    if (this.droppedBytes > 0) {
      this.pending.unshift(Buffer.from(`[rfm] ${this.droppedBytes} bytes of output were dropped while the store was unreachable\n`))
      this.droppedBytes = 0
    }
    const data = Buffer.concat(this.pending)
    this.pending = []
    this.pendingBytes = 0
    try {
      await this.store.append(this.key, data)
      this.lastError = undefined
    } catch (error) {
      this.lastError = error as Error
      this.pending.unshift(data)
      this.pendingBytes += data.length
      this.schedule(Math.max(this.intervalMs, 1000))
    }
  }
}
