import {spawn} from 'node:child_process'
import {promises as fs} from 'node:fs'
import * as path from 'node:path'

import {CheckpointSync} from '../checkpoint/sync'
import {uploadOutputs} from '../outputs/upload'
import type {ExternalCommand} from '../plugin-api'
import type {RuntimeContext} from './context'

export type TrainerExit = {
  exitCode: number | null
  signal: NodeJS.Signals | null
  /** the trainer was still running when the interruption came */
  interrupted: boolean
}

/**
 * Runs an external trainer: restores its newest committed checkpoint into place (adding its resume
 * arguments only then), uploads each complete checkpoint while it runs, passes stop signals on to it
 * (and its children), and uploads what is complete once more after it exits.
 */
export async function runExternal(ctx: RuntimeContext, command: ExternalCommand): Promise<TrainerExit> {
  let argv = command.argv
  // files the kind writes for the script (e.g. its YAML config), written afresh by every attempt
  for (const file of command.files ?? []) {
    await fs.mkdir(path.dirname(file.path), {recursive: true})
    await fs.writeFile(file.path, file.content)
  }
  let sync: CheckpointSync | undefined
  if (command.checkpoints) {
    sync = new CheckpointSync(
      command.checkpoints,
      ctx.checkpoints,
      ctx.attempt,
      async (step, bytes, files) => {
        ctx.log(`checkpoint step ${step} committed (${files} files, ${bytes} bytes)`)
        await ctx.event('checkpoint_committed', {step, bytes, files})
      },
      async (failure) => {
        await ctx.event('checkpoint_failed', {...(failure.step === undefined ? {} : {step: failure.step}), reason: failure.reason, failures: failure.failures, retryInSeconds: failure.retryInSeconds})
      },
    )
    const step = await sync.restore()
    const c = command.checkpoints
    // adopted at the first start while the user's own command already names a checkpoint to resume from: theirs applies
    const userResume = sync.adopted && c.resumeArgs.length > 0 && argv.includes(c.resumeArgs[0])
    if (step !== undefined && !userResume) {
      // {checkpoint} names the restored checkpoint (HF: the checkpoint-<step> folder), for scripts that want a path
      const restored = c.layout === 'hf' ? path.join(c.dir, `checkpoint-${step}`) : path.join(c.dir, c.file ?? '')
      argv = [...argv, ...c.resumeArgs.map((a) => a.split('{checkpoint}').join(restored))]
      ctx.log(`resuming from checkpoint step ${step}`)
    }
    if (step !== undefined && sync.adopted) ctx.log(`adopted the checkpoints already in ${c.dir} (newest: step ${step}) as this run's starting checkpoints`)
    if (step !== undefined) await ctx.event('resumed', {step, ...(sync.adopted ? {adopted: true} : {})})
  }
  // Stopped while restoring: do not start a trainer that would ignore the stop.
  if (ctx.interruptions.cause) {
    ctx.log(`interrupted (${ctx.interruptions.cause}) before the trainer started`)
    return {exitCode: null, signal: null, interrupted: true}
  }
  ctx.log(`run ${ctx.run.id} attempt ${ctx.attempt}: ${argv.join(' ')} (in ${command.cwd})`)

  const [program, ...args] = argv
  const child = spawn(program, args, {
    cwd: command.cwd,
    env: {...withoutRuntimeVars(process.env), ...command.env, RFM_RUN_ID: ctx.run.id, RFM_ATTEMPT: String(ctx.attempt)},
    stdio: 'inherit',
  })
  const running = () => child.exitCode === null && child.signalCode === null
  let interrupted = false
  ctx.interruptions.onStop.push((cause) => {
    if (!running()) return
    interrupted = true
    const signal = cause === 'spot-notice' ? 'SIGTERM' : cause
    ctx.log(`interrupted (${cause}): asking the trainer to checkpoint and stop`)
    if (sync) sync.newestFirst = true
    relay(signal, () => child.kill(signal))
  })
  sync?.start(Number(process.env.RFM_CHECKPOINT_POLL_MS ?? 200))
  const exit = await new Promise<TrainerExit>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'ENOENT' ? 'command not found' : error.code === 'EACCES' ? 'permission denied' : error.message
      ctx.log(`cannot start ${JSON.stringify(program)}: ${why}`)
      resolve({exitCode: error.code === 'ENOENT' ? 127 : 126, signal: null, interrupted})
    })
    child.once('exit', (exitCode, signal) => resolve({exitCode, signal, interrupted}))
  })
  await sync?.stop({trainerExited: exit.signal !== 'SIGKILL'})
  // what the trainer wrote besides checkpoints (final model, logs, TensorBoard), at the end of every attempt
  if (command.outputs?.length) await uploadOutputs(ctx.runs.store, ctx.run.id, ctx.attempt, command.cwd, command.outputs, ctx.log)
  if (sync && exit.signal !== 'SIGKILL' && (await sync.hasUncommitted())) {
    // Decision (README "Checkpoints and resume"): an attempt does not end while a checkpoint its
    // trainer finished is uncommitted; it keeps retrying for RFM_CHECKPOINT_COMMIT_WAIT_SECONDS
    // (default 600), and if the commit still fails a trainer's exit 0 becomes exit 1, so the run
    // cannot end as a clean `succeeded` with its last checkpoint lost.
    const waitSeconds = Number(process.env.RFM_CHECKPOINT_COMMIT_WAIT_SECONDS ?? 600)
    ctx.log(`waiting up to ${waitSeconds}s for the last checkpoint to commit`)
    if (!(await sync.drain(Date.now() + waitSeconds * 1000))) {
      ctx.log('the last checkpoint could not be committed; this attempt fails so that it is not reported as a clean success')
      await ctx.event('checkpoint_uncommitted', {failures: sync.consecutiveFailures})
      if (exit.exitCode === 0) return {...exit, exitCode: 1}
    }
  }
  if (exit.exitCode === 0 && sync) {
    const latest = (await ctx.checkpoints.list()).at(-1)
    if (latest) await ctx.checkpoints.setPointer('final', {step: latest.step})
  }
  return exit
}

/**
 * Signals the runtime's whole process group when the backend made the runtime its leader
 * (RFM_PROCESS_GROUP_LEADER=1), so a shell's children get the signal too; else the trainer alone.
 * The signal also comes back to the runtime itself, where the interruption watcher has fired already.
 */
function relay(signal: NodeJS.Signals, toTrainerOnly: () => void): void {
  try {
    if (process.env.RFM_PROCESS_GROUP_LEADER !== '1') throw new Error('not a group leader')
    process.kill(-process.pid, signal)
  } catch {
    toTrainerOnly()
  }
}

function withoutRuntimeVars(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const {RFM_PROCESS_GROUP_LEADER: _leader, RFM_FAULT_PAUSE_BEFORE_MANIFEST_MS: _fault, ...rest} = env
  return rest
}
