import {spawn} from 'node:child_process'
import {mkdirSync, openSync, closeSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import {rfmHome} from '../../config/home'
import {BackendError, UsageError} from '../../errors'
import {FINAL_STATES, type RunRecord} from '../../runs/record'
import type {RunStore} from '../../runs/run-store'
import {DEFAULT_ATTEMPTS} from '../../runtime/protocol'
import type {Backend, BackendOptions, BackendRequest, LiveView} from '../types'
import {isAlive, signalGroup, signalProcess, sleep} from './processes'
import {summarizeAttempt} from './summary'

const SUPERVISOR = path.join(__dirname, 'supervisor.js')

/**
 * The embedded default backend: each run gets a detached supervisor process that outlives the CLI,
 * runs the job's attempts through the rfm runtime and records them, retrying like AWS Batch.
 */
export class LocalBackend implements Backend {
  readonly name = 'local' as const
  readonly title = 'the local backend'
  readonly runsJobsHere = true

  requestFor(_job: unknown, options: BackendOptions): BackendRequest {
    if (options.batch && (options.batch.arraySize !== undefined || options.batch.queue !== undefined)) {
      throw new UsageError('--array and --queue work on the aws-batch backend only.', {hint: 'Use a profile whose backend is aws-batch (--profile NAME), or drop those flags.'})
    }
    return {record: {name: 'local', ...(options.chaos ? {chaos: options.chaos} : {})}, defaultAttempts: DEFAULT_ATTEMPTS}
  }

  async submit(run: RunRecord, runs: RunStore): Promise<void> {
    const diagnostics = path.join(rfmHome(), 'local', `${run.id}.supervisor.log`)
    mkdirSync(path.dirname(diagnostics), {recursive: true})
    const out = openSync(diagnostics, 'a')
    try {
      const child = spawn(process.execPath, [SUPERVISOR, runs.store.url, run.id], {
        detached: true,
        stdio: ['ignore', out, out],
        env: process.env,
      })
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve)
        child.once('error', reject)
      }).catch((error: Error) => {
        throw new BackendError(`Could not start the local supervisor: ${error.message}`)
      })
      child.unref()
    } finally {
      closeSync(out)
    }
  }

  async cancel(run: RunRecord, runs: RunStore, {graceSeconds}: {graceSeconds: number}): Promise<RunRecord> {
    if (FINAL_STATES.has(run.state)) return run
    await runs.appendEvent(run.id, {type: 'cancel_requested', time: new Date().toISOString(), graceSeconds})
    const supervisor = run.backend.name === 'local' ? run.backend.supervisorPid : undefined
    if (supervisor && isAlive(supervisor, run.id)) {
      signalProcess(supervisor, 'SIGTERM')
      // The supervisor stops the attempt (SIGTERM, then SIGKILL after the grace) and records it.
      const deadline = Date.now() + (graceSeconds + 10) * 1000
      while (Date.now() < deadline) {
        const current = await runs.get(run.id)
        if (FINAL_STATES.has(current.state)) return current
        await sleep(100)
      }
      throw new BackendError(`Run ${run.id} did not stop within ${graceSeconds + 10}s of the cancel request.`, {
        hint: `Its supervisor is pid ${supervisor}; check it with ps, or run rfm cloud cancel again.`,
      })
    }
    // A run still queued picks the cancel request up when its supervisor starts; give it a moment.
    if (run.state === 'queued' && Date.now() - Date.parse(run.createdAt) < 10_000) {
      for (let i = 0; i < 50; i++) {
        await sleep(100)
        const current = await runs.get(run.id)
        if (FINAL_STATES.has(current.state)) return current
      }
    }
    // No supervisor left (machine rebooted, killed): stop what may remain and close the record.
    const last = run.attempts.at(-1)
    if (last?.pid && !last.endedAt) signalGroup(last.pid, 'SIGKILL')
    const time = new Date().toISOString()
    const record = await runs.update(run.id, (r) => {
      r.state = 'cancelled'
      r.endedAt = time
      r.reason = 'cancelled (its supervisor was no longer running)'
    })
    await runs.appendEvent(run.id, {type: 'run_finished', time, state: 'cancelled', reason: record.reason})
    return record
  }

  /**
   * The supervisor writes an attempt's summary when the attempt ends; a running (or lost) attempt's
   * checkpoints and checkpoint failures come from the events meanwhile. For a lost run (its
   * supervisor is dead) the record is shown as of its last event, so its duration stops counting.
   * Its state reads 'lost', as `live.state` does. Nothing is written: the supervisor owns run.json while it lives.
   */
  async refresh(run: RunRecord, runs: RunStore): Promise<RunRecord> {
    if (FINAL_STATES.has(run.state) || !run.attempts.some((a) => !a.endedAt)) return run
    const events = await runs.events(run.id)
    for (const attempt of run.attempts) if (!attempt.endedAt) Object.assign(attempt, summarizeAttempt(events, attempt.index))
    // The returned state agrees with `live.state` (the record on disk keeps the last state written).
    if ((await this.observe(run)).state === 'lost') Object.assign(run, {state: 'lost', endedAt: run.endedAt ?? events.at(-1)?.time ?? run.updatedAt})
    return run
  }

  async observe(run: RunRecord): Promise<LiveView> {
    if (FINAL_STATES.has(run.state) || run.backend.host !== os.hostname()) return {}
    const supervisor = run.backend.name === 'local' ? run.backend.supervisorPid : undefined
    if (supervisor === undefined) {
      const age = Date.now() - Date.parse(run.createdAt)
      return age > 30_000 ? {state: 'lost', reason: 'its supervisor never started'} : {}
    }
    return isAlive(supervisor, run.id) ? {} : {state: 'lost', reason: `its supervisor (pid ${supervisor}) is no longer running`}
  }
}
