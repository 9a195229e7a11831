import {mkdtempSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import {loadRunCheckpoint} from '../checkpoint/run-ref'
import {CheckpointStore} from '../checkpoint/store'
import {StoreCheckpointIO} from '../checkpoint/store-io'
import {LogAppender} from '../backends/local/log-appender'
import {uploadOutputs} from '../outputs/upload'
import type {RuntimeContext} from './context'

/** Runs a kind's built-in trainer inside the runtime, with checkpoints in the run's store. */
export async function runBuiltin(ctx: RuntimeContext): Promise<void> {
  const {kind, run} = ctx
  const io = new StoreCheckpointIO(ctx.checkpoints, kind.retention?.(run.config) ?? {}, ctx.attempt, async (step, bytes) => {
    ctx.log(`checkpoint step ${step} committed (${bytes} bytes)`)
    await ctx.event('checkpoint_committed', {step, bytes})
  })
  const metrics = new LogAppender(ctx.runs.store, `runs/${run.id}/metrics.jsonl`, 1000)
  let stop = ctx.interruptions.cause !== undefined
  let announced = false
  ctx.interruptions.onStop.push((cause) => {
    stop = true
    ctx.log(`interrupted (${cause}): the trainer checkpoints at the next step and stops`)
  })
  // the trainer's scratch folder holds its TensorBoard event files and debug logs: uploaded as outputs
  const workDir = mkdtempSync(path.join(os.tmpdir(), `rfm-${run.id}-`))
  try {
    const outcome = await kind.train?.({
      runId: run.id,
      attempt: ctx.attempt,
      config: run.config,
      checkpoints: {
        // Metrics up to a step are stored before its checkpoint commits, so the curve has no gap
        // for steps a resumed run will not recompute.
        save: async (step, files, state, options) => {
          await metrics.flush()
          await io.save(step, files, state, options)
        },
        loadLatest: async () => {
          const latest = await io.loadLatest()
          // A trainer may ask more than once (e.g. to size its model, then to resume): say it once.
          if (latest && !announced) {
            announced = true
            ctx.log(`resuming from checkpoint step ${latest.step}`)
            await ctx.event('resumed', {step: latest.step})
          }
          return latest
        },
      },
      stopRequested: () => stop,
      loadRunCheckpoint: async (ref) => {
        const loaded = await loadRunCheckpoint(ctx.runs.store, ref)
        ctx.log(`loaded checkpoint step ${loaded.step} of run ${loaded.runId}`)
        await ctx.event('loaded_run_checkpoint', {run: loaded.runId, step: loaded.step})
        return loaded
      },
      listRunCheckpoints: async (runId) => {
        const run = await ctx.runs.get(runId)
        return (await new CheckpointStore(ctx.runs.store, run.id).list()).map((c) => c.step)
      },
      logMetrics: (step, values) => {
        metrics.write(JSON.stringify({step, time: new Date().toISOString(), ...values}) + '\n')
        // The log shows progress without flooding: every 10th step, and every evaluation.
        if (step % 10 === 0 || Object.keys(values).some((k) => k.startsWith('eval_'))) process.stdout.write(`${formatMetrics(step, values)}\n`)
      },
      log: (message) => process.stdout.write(`${message}\n`),
      workDir,
    })
    if (outcome) await ctx.event('trainer_returned', {...outcome})
  } finally {
    await metrics.flush()
    await uploadOutputs(ctx.runs.store, run.id, ctx.attempt, workDir, ['.'], ctx.log)
  }
}

function formatMetrics(step: number, values: Record<string, number>): string {
  const shown = Object.entries(values)
    .filter(([key]) => !key.startsWith('lr_'))
    .map(([key, value]) => `${key} ${Number.isInteger(value) ? value : value.toPrecision(4)}`)
  return `step ${step}  ${shown.join('  ')}`
}
