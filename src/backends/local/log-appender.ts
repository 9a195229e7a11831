import type {ObjectStore} from '../../store/types'

/** Batches a process's output into appends to a log object, in order, at most every `intervalMs`. */
export class LogAppender {
  private pending: Buffer[] = []
  private chain: Promise<void> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly store: ObjectStore,
    private readonly key: string,
    private readonly intervalMs = 200,
  ) {}

  write(chunk: Buffer | string): void {
    this.pending.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs)
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.pending.length > 0) {
      const data = Buffer.concat(this.pending)
      this.pending = []
      this.chain = this.chain.then(() => this.store.append(this.key, data))
    }
    return this.chain
  }
}
