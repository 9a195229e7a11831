/**
 * The local backend's supervisor: a detached process per run. It runs each attempt as a child
 * process of the rfm runtime (in its own process group), captures its output into the attempt's log,
 * decides retries like AWS Batch, enforces the attempt timeout, and handles cancel (SIGTERM).
 * Usage: node supervisor.js STORE_URL RUN_ID
 */
import {spawn, type ChildProcess} from 'node:child_process'
import * as path from 'node:path'

import type {Attempt, ChaosPlan, RunRecord, RunState} from '../../runs/record'
import {RunStore} from '../../runs/run-store'
import {openStore} from '../../store/open'
import {loggedOutagePolicy, OutageTolerantStore} from '../../store/outage'
import {seededRandom} from './chaos'
import {LogAppender} from './log-appender'
import {signalGroup, signalProcess} from './processes'
import {RUNTIME_ENV} from '../../runtime/protocol'
import {decideRetry, describeExit, type AttemptExit} from './retry'
import {summarizeAttempt} from './summary'

const RUNTIME = path.join(__dirname, '..', '..', 'runtime', 'main.js')
const DEFAULT_GRACE_SECONDS = 10

async function main(): Promise<void> {
  const [storeUrl, runId] = process.argv.slice(2)
  if (!storeUrl || !runId) {
    console.error('usage: supervisor.js STORE_URL RUN_ID')
    process.exit(2)
  }
  // Every store operation rides out outages (RFM_STORE_OUTAGE_SECONDS): the supervisor must outlive them.
  const runs = new RunStore(new OutageTolerantStore(await openStore(storeUrl), loggedOutagePolicy('[rfm supervisor]')))
  const supervisor = new Supervisor(runs, runId, storeUrl)
  await supervisor.run()
}

class Supervisor {
  private cancelled = false
  private child: ChildProcess | undefined
  private killTimer: NodeJS.Timeout | undefined

  constructor(
    private readonly runs: RunStore,
    private readonly runId: string,
    private readonly storeUrl: string,
  ) {}

  async run(): Promise<void> {
    process.on('SIGTERM', () => void this.onCancel())
    process.on('SIGINT', () => void this.onCancel())
    process.on('SIGHUP', () => {}) // detached: a closing terminal must not stop the run

    let record = await this.runs.update(this.runId, (r) => {
      r.state = 'running'
      r.backend.supervisorPid = process.pid
    })
    // A cancel that arrived before this process existed.
    if ((await this.runs.events(this.runId)).some((e) => e.type === 'cancel_requested')) this.cancelled = true

    let finalState: RunState = 'failed'
    let last: AttemptExit = {exitCode: null, signal: null}
    let reason = 'no attempt ran'
    const chaos = record.backend.name === 'local' ? record.backend.chaos : undefined
    const random = seededRandom(chaos?.seed ?? 0)
    let chaosDelivered = record.attempts.filter((a) => a.chaos).length
    // Attempts stopped by chaos do not use up retries.attempts, as reclaimed spot capacity would not.
    let budgetUsed = record.attempts.length - chaosDelivered
    for (let attempt = record.attempts.length + 1; budgetUsed < record.retries.attempts && !this.cancelled; attempt++) {
      const kill = chaos && chaosDelivered < chaos.kills ? this.chaosKill(chaos, random) : undefined
      const {exit, timedOut, chaosSignal} = await this.runAttempt(record, attempt, kill)
      last = exit
      if (chaosSignal) chaosDelivered++
      else budgetUsed++
      let decision = decideRetry(record.retries.evaluate_on_exit, exit, budgetUsed, record.retries.attempts, {timedOut: timedOut && !chaosSignal})
      if (this.cancelled) decision = {action: 'exit', reason: `cancelled (${describeExit(exit)})`}
      else if (chaosSignal && exit.exitCode !== 0) decision = {action: 'retry', reason: `chaos ${chaosSignal} ${chaosDelivered} of ${chaos?.kills}; ${describeExit(exit)}; retrying`}
      else if (timedOut) decision = {...decision, reason: `timed out after ${record.timeoutSeconds}s; ${decision.reason}`}
      reason = decision.reason
      const summary = summarizeAttempt(await this.runs.events(this.runId), attempt)
      const time = new Date().toISOString()
      record = await this.runs.update(this.runId, (r) => {
        const a = r.attempts.find((x) => x.index === attempt) as Attempt
        Object.assign(a, {endedAt: time, exitCode: exit.exitCode, signal: exit.signal, action: decision.action, reason: decision.reason}, summary, chaosSignal ? {chaos: chaosSignal} : {})
      })
      await this.runs.appendEvent(this.runId, {type: 'attempt_ended', time, attempt, exitCode: exit.exitCode, signal: exit.signal, action: decision.action, reason: decision.reason})
      if (exit.exitCode === 0) finalState = 'succeeded'
      if (decision.action === 'exit') break
    }
    if (this.cancelled && finalState !== 'succeeded') {
      finalState = 'cancelled'
      if (reason === 'no attempt ran') reason = 'cancelled before it started'
    }
    const time = new Date().toISOString()
    await this.runs.update(this.runId, (r) => {
      r.state = finalState
      r.endedAt = time
      r.exitCode = last.exitCode
      r.signal = last.signal
      r.reason = reason
    })
    await this.runs.appendEvent(this.runId, {type: 'run_finished', time, state: finalState, reason})
    clearTimeout(this.killTimer)
  }

  /** When and how chaos stops the next attempt. */
  private chaosKill(chaos: ChaosPlan, random: () => number): {afterMs: number; signal: 'SIGTERM' | 'SIGKILL'} {
    const afterMs = (chaos.minSeconds + random() * (chaos.maxSeconds - chaos.minSeconds)) * 1000
    const signal = chaos.signal === 'TERM' ? 'SIGTERM' : chaos.signal === 'KILL' ? 'SIGKILL' : random() < 0.5 ? 'SIGTERM' : 'SIGKILL'
    return {afterMs, signal}
  }

  private async runAttempt(record: RunRecord, attempt: number, kill?: {afterMs: number; signal: 'SIGTERM' | 'SIGKILL'}): Promise<{exit: AttemptExit; timedOut: boolean; chaosSignal?: string}> {
    const log = new LogAppender(this.runs.store, RunStore.logKey(this.runId, attempt))
    const child = spawn(process.execPath, [RUNTIME], {
      detached: true, // its own process group, so a forced stop reaches the trainer's children too
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        [RUNTIME_ENV.store]: this.storeUrl,
        [RUNTIME_ENV.runId]: this.runId,
        [RUNTIME_ENV.attempt]: String(attempt),
        [RUNTIME_ENV.processGroupLeader]: '1',
      },
    })
    this.child = child
    child.stdout?.on('data', (chunk: Buffer) => log.write(chunk))
    child.stderr?.on('data', (chunk: Buffer) => log.write(chunk))
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve))
    const time = new Date().toISOString()
    await this.runs.update(this.runId, (r) => {
      r.attempts.push({index: attempt, startedAt: time, pid: child.pid})
    })
    await this.runs.appendEvent(this.runId, {type: 'attempt_started', time, attempt, pid: child.pid})

    let timedOut = false
    const timer = record.timeoutSeconds
      ? setTimeout(() => {
          timedOut = true
          log.write(`[rfm] attempt ${attempt} timed out after ${record.timeoutSeconds}s; stopping it\n`)
          this.stopChild(DEFAULT_GRACE_SECONDS)
        }, record.timeoutSeconds * 1000)
      : undefined
    let chaosSignal: string | undefined
    const chaosTimer = kill
      ? setTimeout(() => {
          if (!child.pid || child.exitCode !== null || child.signalCode !== null) return
          chaosSignal = kill.signal
          log.write(`[rfm] chaos: ${kill.signal} to attempt ${attempt}\n`)
          // SIGTERM goes to the runtime, which checkpoints; SIGKILL takes the whole attempt down at once.
          if (kill.signal === 'SIGTERM') signalProcess(child.pid, 'SIGTERM')
          else signalGroup(child.pid, 'SIGKILL')
        }, kill.afterMs)
      : undefined
    const exit = await Promise.race([
      new Promise<AttemptExit>((resolve) =>
        child.once('exit', (code, signal) => {
          // The attempt is over when the runtime exits: stop what it left behind (which would
          // also hold the log pipe open), then wait for the output to drain.
          if (child.pid) signalGroup(child.pid, 'SIGKILL')
          child.once('close', () => resolve({exitCode: code, signal}))
        }),
      ),
      spawnError.then((error) => {
        log.write(`[rfm] could not start the runtime: ${error.message}\n`)
        return {exitCode: 127, signal: null}
      }),
    ])
    clearTimeout(timer)
    clearTimeout(chaosTimer)
    clearTimeout(this.killTimer)
    // Nothing of the attempt's process group may outlive it.
    if (child.pid) signalGroup(child.pid, 'SIGKILL')
    this.child = undefined
    await log.flush()
    return {exit, timedOut, chaosSignal}
  }

  private async onCancel(): Promise<void> {
    if (this.cancelled) return
    this.cancelled = true
    const events = await this.runs.events(this.runId).catch(() => [])
    const request = events.filter((e) => e.type === 'cancel_requested').at(-1) as {graceSeconds?: unknown} | undefined
    const grace = typeof request?.graceSeconds === 'number' ? request.graceSeconds : DEFAULT_GRACE_SECONDS
    this.stopChild(grace)
  }

  /** SIGTERM to the runtime (which passes it to the trainer), SIGKILL to the group after the grace. */
  private stopChild(graceSeconds: number): void {
    const pid = this.child?.pid
    if (!pid) return
    signalProcess(pid, 'SIGTERM')
    clearTimeout(this.killTimer)
    this.killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceSeconds * 1000)
  }
}

main().catch((error: Error) => {
  console.error(`[rfm supervisor] ${error.stack ?? error.message}`)
  process.exit(1)
})
