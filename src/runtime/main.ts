/**
 * The rfm runtime: the process that runs inside a job, on the local backend now and as the
 * containers' entry point on AWS. It reads the run record, builds the trainer's command line from
 * the job kind, runs it, passes stop signals on, and exits the way the trainer did so the backend
 * can apply its retry rules.
 * Environment: RFM_STORE (store URL), RFM_RUN_ID, RFM_ATTEMPT.
 */
import {spawn} from 'node:child_process'

import {loadKindForRun} from '../jobs/registry'
import {RunStore} from '../runs/run-store'
import {openStore} from '../store/open'

async function main(): Promise<void> {
  const {RFM_STORE: storeUrl, RFM_RUN_ID: runId} = process.env
  const attempt = Number(process.env.RFM_ATTEMPT ?? '1')
  if (!storeUrl || !runId) {
    console.error('[rfm] the runtime needs RFM_STORE and RFM_RUN_ID in its environment')
    process.exit(2)
  }
  const run = await new RunStore(await openStore(storeUrl)).get(runId)
  const kind = await loadKindForRun(run.plugin, run.kind)
  if (!kind.external) {
    console.error(`[rfm] job kind ${run.kind} has no trainer to run`)
    process.exit(2)
  }
  const command = kind.external(run.config, {runId, attempt, storeUrl})
  const [program, ...args] = command.argv
  console.log(`[rfm] run ${runId} attempt ${attempt}/${run.retries.attempts}: ${command.argv.join(' ')} (in ${command.cwd})`)

  const child = spawn(program, args, {
    cwd: command.cwd,
    env: {...withoutRuntimeVars(process.env), ...command.env, RFM_RUN_ID: runId, RFM_ATTEMPT: String(attempt)},
    stdio: 'inherit',
  })
  relayStopSignals(() => child.exitCode === null && child.signalCode === null, (signal) => child.kill(signal))
  child.once('error', (error: NodeJS.ErrnoException) => {
    const why = error.code === 'ENOENT' ? 'command not found' : error.code === 'EACCES' ? 'permission denied' : error.message
    console.error(`[rfm] cannot start ${JSON.stringify(program)}: ${why}`)
    process.exit(error.code === 'ENOENT' ? 127 : 126)
  })
  child.once('exit', (code, signal) => {
    if (signal) {
      // Die of the same signal, so the backend sees what the trainer saw.
      console.log(`[rfm] trainer was stopped by ${signal}`)
      process.removeAllListeners(signal)
      process.kill(process.pid, signal)
      return
    }
    process.exit(code ?? 1)
  })
}

function withoutRuntimeVars(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const {RFM_PROCESS_GROUP_LEADER: _leader, ...rest} = env
  return rest
}

/**
 * Passes SIGTERM/SIGINT/SIGHUP on to the trainer and everything it started (a shell's children too),
 * by signalling the runtime's own process group when the backend made the runtime its leader
 * (RFM_PROCESS_GROUP_LEADER=1); otherwise to the trainer process alone.
 * The relayed signal also comes back to the runtime itself, and is ignored then.
 */
function relayStopSignals(trainerRunning: () => boolean, toTrainerOnly: (signal: NodeJS.Signals) => void): void {
  const relayedAt = new Map<NodeJS.Signals, number>()
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (!trainerRunning() || Date.now() - (relayedAt.get(signal) ?? 0) < 1000) return
      relayedAt.set(signal, Date.now())
      try {
        if (process.env.RFM_PROCESS_GROUP_LEADER !== '1') throw new Error('not a group leader')
        process.kill(-process.pid, signal)
      } catch {
        toTrainerOnly(signal)
      }
    })
  }
}

main().catch((error: Error) => {
  console.error(`[rfm] runtime failed: ${error.message}`)
  process.exit(1)
})
