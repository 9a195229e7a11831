import type {Attempt, RunEvent} from '../../runs/record'

/** What the runtime reported about one attempt, for its line in run.json. */
export function summarizeAttempt(events: RunEvent[], attempt: number): Partial<Attempt> {
  const mine = events.filter((e) => e.attempt === attempt)
  const resumed = mine.find((e) => e.type === 'resumed')
  const interrupted = mine.find((e) => e.type === 'interrupted')
  const commits = mine.filter((e) => e.type === 'checkpoint_committed')
  const trainer = mine.find((e) => e.type === 'trainer_returned')
  const failures = mine.filter((e) => e.type === 'checkpoint_failed')
  return {
    ...(typeof trainer?.backend === 'string' ? {trainerBackend: trainer.backend} : {}),
    ...(typeof resumed?.step === 'number' ? {resumedFromStep: resumed.step} : {}),
    ...(typeof interrupted?.cause === 'string' ? {interruptedBy: interrupted.cause} : {}),
    ...(commits.length > 0 ? {checkpointsCommitted: commits.length, lastCheckpointStep: Number(commits.at(-1)?.step)} : {}),
    ...(failures.length > 0 ? {checkpointFailures: failures.length, lastCheckpointError: String(failures.at(-1)?.reason ?? '')} : {}),
  }
}
