import {imdsRequest, imdsSession} from './imds'

export type InterruptionCause = 'SIGTERM' | 'SIGINT' | 'SIGHUP' | 'spot-notice'

/**
 * Watches for the end of this machine: stop signals (AWS Batch/ECS send SIGTERM before stopping a
 * container; the local backend does the same) and the EC2 spot interruption notice. Calls `onStop`
 * once, with the first cause seen.
 */
export class InterruptionWatcher {
  private fired: InterruptionCause | undefined
  private timer: NodeJS.Timeout | undefined
  /** more listeners, called after the constructor's, in order */
  readonly onStop: Array<(cause: InterruptionCause) => void> = []

  constructor(private readonly first: (cause: InterruptionCause) => void) {}

  get cause(): InterruptionCause | undefined {
    return this.fired
  }

  start(options: {spotEndpoint?: string; pollMs?: number} = {}): void {
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => this.fire(signal))
    if (options.spotEndpoint) {
      const poll = async () => {
        if (this.fired) return
        const notice = await spotNotice(options.spotEndpoint as string).catch(() => undefined)
        if (notice) this.fire('spot-notice')
        else this.timer = setTimeout(poll, options.pollMs ?? 5000)
      }
      void poll()
    }
  }

  stop(): void {
    clearTimeout(this.timer)
  }

  private fire(cause: InterruptionCause): void {
    if (this.fired) return
    this.fired = cause
    clearTimeout(this.timer)
    this.first(cause)
    for (const listener of this.onStop) listener(cause)
  }
}

/**
 * The instance metadata service's spot notice (IMDSv2: a session token first, then
 * /latest/meta-data/spot/instance-action, which answers 404 until a stop or terminate is scheduled).
 */
export async function spotNotice(endpoint: string): Promise<{action: string; time: string} | undefined> {
  const base = endpoint.replace(/\/$/, '')
  const headers = await imdsSession(base)
  const answer = await imdsRequest('GET', `${base}/latest/meta-data/spot/instance-action`, headers, 1000)
  if (answer.status !== 200) return undefined
  try {
    return JSON.parse(answer.body) as {action: string; time: string}
  } catch {
    return {action: 'unknown', time: ''}
  }
}
