import {loggedOutagePolicy, OutageTolerantStore} from '../store/outage'
import {FINAL_STATES, type RunRecord} from './record'
import {RunStore} from './run-store'

export interface FollowOptions {
  /** called with each new piece of an attempt's log, in order */
  onLog(attempt: number, text: string): void
  /** called when a new attempt's log starts */
  onAttempt?(attempt: number, run: RunRecord): void
  /** checked every few seconds; returns a reason when the run can no longer progress (lost) */
  isLost?(run: RunRecord): Promise<string | undefined>
  pollMs?: number
  /** start with this attempt's log (default: the first) */
  fromAttempt?: number
}

/** Streams a run's logs across attempts until it reaches a final state; returns the final record. */
export async function followRun(given: RunStore, id: string, options: FollowOptions): Promise<{run: RunRecord; lost?: string}> {
  // `--follow` waits out a store outage as the run itself does, instead of exiting 1.
  const runs = given.store instanceof OutageTolerantStore ? given : new RunStore(new OutageTolerantStore(given.store, loggedOutagePolicy('[rfm]')))
  const pollMs = options.pollMs ?? 200
  let attempt = options.fromAttempt ?? 1
  let offset = 0
  let announced = 0
  let lastLostCheck = Date.now()
  for (;;) {
    const run = await runs.get(id)
    const final = FINAL_STATES.has(run.state)
    // Drain every attempt that has started, in order.
    while (attempt <= run.attempts.length) {
      if (announced < attempt) {
        options.onAttempt?.(attempt, run)
        announced = attempt
      }
      const chunk = await runs.store.getFrom(RunStore.logKey(id, attempt), offset)
      if (chunk && chunk.length > 0) {
        offset += chunk.length
        options.onLog(attempt, chunk.toString('utf8'))
      }
      const ended = run.attempts[attempt - 1]?.endedAt !== undefined
      if (ended && attempt < run.attempts.length) {
        attempt++
        offset = 0
        continue
      }
      break
    }
    if (final) return {run}
    if (options.isLost && Date.now() - lastLostCheck > 2000) {
      lastLostCheck = Date.now()
      const lost = await options.isLost(run)
      if (lost) return {run, lost}
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}
