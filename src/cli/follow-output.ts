import {followRun} from '../runs/follow'
import type {RunRecord} from '../runs/record'
import type {Context} from './base-command'

/**
 * Streams a run's logs to stdout with a header per attempt (unless quiet, as under --json).
 * Ctrl-C stops following; the run itself goes on.
 */
export async function streamRun(ctx: Context, id: string, quiet: boolean, fromAttempt?: number): Promise<{run: RunRecord; lost?: string}> {
  const onInterrupt = () => {
    process.stderr.write(`\nStopped following; the run goes on. Resume with: rfm cloud logs ${id} -f\n`)
    process.exit(130)
  }
  process.once('SIGINT', onInterrupt)
  try {
    return await followRun(ctx.runs, id, {
      fromAttempt,
      onAttempt: (attempt) => {
        if (!quiet) process.stdout.write(`--- attempt ${attempt} ---\n`)
      },
      onLog: (_attempt, text) => {
        if (!quiet) process.stdout.write(text)
      },
      isLost: async (run) => (await ctx.backend.observe(run)).reason,
    })
  } finally {
    process.removeListener('SIGINT', onInterrupt)
  }
}
