/**
 * The rfm runtime: the process that runs inside a job, on the local backend now and as the
 * containers' entry point on AWS. It reads the run record, restores the newest committed checkpoint,
 * runs the trainer (built in, or an external command), uploads its checkpoints, and on SIGTERM or a
 * spot interruption notice has the trainer checkpoint and exits with EXIT_RETRY so the backend
 * retries the job.
 * Environment and exit codes: src/runtime/protocol.ts.
 */
import {ConfigError} from '../errors'
import {loadKindForRun} from '../jobs/registry'
import {BATCH_ENV, EXIT_RETRY, EXIT_USAGE, RUNTIME_ENV} from './protocol'
import {openStore} from '../store/open'
import {loggedOutagePolicy, OutageTolerantStore} from '../store/outage'
import {runBuiltin} from './builtin'
import {materializeDatasets, nameDatasetsIn} from './datasets'
import {CheckpointStore, faultPauseBeforeManifestMs, RunStore, runtimeLogger, type RuntimeContext} from './context'
import {runExternal} from './external'
import {hostBootedAt, hostMetadata} from './host-metadata'
import {InterruptionWatcher} from './interruption'
import {parseRecordedConfig} from './recorded-config'
import {materializeWorkdir} from './workdir'

const SPOT_WINDOW_SECONDS = 120

async function main(): Promise<number> {
  const storeUrl = process.env[RUNTIME_ENV.store]
  const runId = process.env[RUNTIME_ENV.runId]
  // AWS Batch numbers attempts itself (the job's environment is the same for every attempt).
  const attempt = Number(process.env[RUNTIME_ENV.attempt] ?? process.env[BATCH_ENV.attempt] ?? '1')
  // A child of a Batch array job: its events say which, and its checkpoints live apart.
  const arrayIndex = process.env[BATCH_ENV.arrayIndex]
  if (arrayIndex !== undefined) process.env[RUNTIME_ENV.arrayIndex] = arrayIndex
  const log = runtimeLogger()
  if (!storeUrl || !runId) {
    log(`the runtime needs ${RUNTIME_ENV.store} and ${RUNTIME_ENV.runId} in its environment`)
    return EXIT_USAGE
  }
  // The trainer keeps running through a store outage; uploads and events wait and catch up.
  const store = new OutageTolerantStore(await openStore(storeUrl), loggedOutagePolicy('[rfm]'))
  const runs = new RunStore(store)
  const run = await runs.get(runId)
  const append = (type: string, data: Record<string, unknown> = {}) =>
    runs.appendEvent(runId, {type, time: new Date().toISOString(), attempt, ...(arrayIndex !== undefined ? {arrayIndex: Number(arrayIndex)} : {}), ...data})
  // EC2 gives a spot notice two minutes before it stops the instance: the first commit after one
  // says whether the newest checkpoint made it in that window.
  let noticeAt: number | undefined
  const event = async (type: string, data: Record<string, unknown> = {}) => {
    await append(type, data)
    if (type === 'checkpoint_committed' && noticeAt !== undefined) {
      const seconds = Math.round((Date.now() - noticeAt) / 100) / 10
      const withinWindow = seconds <= SPOT_WINDOW_SECONDS
      noticeAt = undefined
      log(`checkpoint step ${String(data.step)} committed ${seconds}s after the spot notice (${withinWindow ? 'within' : 'PAST'} the ${SPOT_WINDOW_SECONDS}s window)`)
      await append('spot_notice_checkpoint', {step: data.step, seconds, withinWindow})
    }
  }
  const checkpoints = new CheckpointStore(
    store,
    arrayIndex !== undefined ? `${runId}/array-${arrayIndex}` : runId,
    (warning) => {
      log(`warning: ${warning}`)
      track(event('checkpoint_skipped', {warning}))
    },
    faultPauseBeforeManifestMs(),
  )
  // Step folders of commits killed midway (no manifest, nothing written for 10 min) are removed.
  track(checkpoints.removeAbandoned().then((steps) => (steps.length > 0 ? log(`removed ${steps.length} abandoned checkpoint folder(s) without a manifest: step ${steps.join(', ')}`) : undefined)))
  const interruptions = new InterruptionWatcher((cause) => {
    if (cause === 'spot-notice') noticeAt = Date.now()
    track(event('interrupted', {cause}))
  })
  const spotEndpoint = process.env[RUNTIME_ENV.spotEndpoint]
  interruptions.start({spotEndpoint, pollMs: Number(process.env.RFM_SPOT_POLL_MS ?? 5000)})
  // On EC2, record where this attempt runs (instance type, zone, spot or on-demand) for the cost report.
  if (spotEndpoint) {
    const host = await hostMetadata(spotEndpoint)
    const bootedAt = await hostBootedAt()
    if (host) await event('host', {...host, ...(bootedAt ? {bootedAt} : {})})
  }
  const {kind, version} = await loadKindForRun(run.plugin, run.kind)
  // Parsed once here; every hook gets this config. A config this image's plugin rejects cannot run in any attempt.
  let parsed: Record<string, unknown>
  try {
    parsed = parseRecordedConfig(kind, run, version)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    log(`${error.message}\n[rfm] ${error.hint}`)
    await event('config_rejected', {reason: error.message})
    return EXIT_USAGE
  }
  const recorded: RuntimeContext = {run, kind, attempt, storeUrl, runs, checkpoints, interruptions, log, event}
  // The trainer sees local copies of the staged datasets and workdir; run.json keeps their references.
  const local = await materializeWorkdir(recorded, await materializeDatasets(recorded, parsed))
  const ctx: RuntimeContext = {...recorded, run: {...run, config: local}}

  // A kind with both modes says per config: external() gives a command, or undefined for the built-in trainer.
  const command = kind.external?.(ctx.run.config, {runId, attempt, storeUrl, given: run.source.given})
  if (kind.train && !command) {
    await runBuiltin(ctx)
    interruptions.stop()
    return interruptions.cause ? EXIT_RETRY : 0
  }
  if (!command) {
    log(`job kind ${run.kind} has no trainer to run`)
    return EXIT_USAGE
  }
  const exit = await runExternal(ctx, command)
  interruptions.stop()
  // Exit 0 means the trainer finished, even if a stop signal raced with its last step.
  if (exit.interrupted && exit.exitCode !== 0) {
    // A cancel is a SIGTERM too; the backend then does not retry, so do not say it will.
    const cancelled = (await runs.events(runId).catch(() => [])).some((e) => e.type === 'cancel_requested')
    log(cancelled ? 'checkpoints are saved; stopping because the run was cancelled' : `checkpoints are saved; exiting with ${EXIT_RETRY} so the backend retries this job`)
    return EXIT_RETRY
  }
  if (exit.signal) {
    // Die of the same signal, so the backend sees what the trainer saw.
    log(`trainer was stopped by ${exit.signal}`)
    await drainEvents()
    process.removeAllListeners(exit.signal)
    process.kill(process.pid, exit.signal)
    await new Promise(() => {})
  }
  return exit.exitCode ?? 1
}

/** Events written from signal handlers; the runtime must not exit before they are stored. */
const pendingEvents = new Set<Promise<unknown>>()

function track(write: Promise<unknown>): void {
  const settled = write.catch((error: Error) => process.stderr.write(`[rfm] could not record an event: ${error.message}\n`))
  pendingEvents.add(settled)
  void settled.then(() => pendingEvents.delete(settled))
}

async function drainEvents(): Promise<void> {
  while (pendingEvents.size > 0) await Promise.all([...pendingEvents])
}

main().then(
  async (code) => {
    await drainEvents()
    process.exit(code)
  },
  (error: Error) => {
    process.stderr.write(`[rfm] runtime failed: ${nameDatasetsIn(error.message)}\n`)
    process.exit(1)
  },
)
