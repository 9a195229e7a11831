/**
 * The runs and checkpoints part of the plugin API: what `rfm cloud status`, `rfm ckpt ls` and
 * `rfm ckpt pull` do, as functions, so plugin commands call them in-process instead of running
 * the CLI again. Store and backend modules load on first use.
 */
import * as path from 'node:path'

import {DirectoryCheckpoints} from '../checkpoint/local-dir'
import {UsageError} from '../errors'
import type {CheckpointChoice} from '../checkpoint/pull'
import type {PluginCheckpoints, PluginRuns, RunLookup} from './index'

/** The same context as an rfm command's (src/cli/base-command.ts): profile → store, runs, backend. */
async function context(profileName?: string) {
  const [{resolveProfile}, {openStore}, {RunStore}, {backendFor}] = await Promise.all([
    import('../config/profiles.js'),
    import('../store/open.js'),
    import('../runs/run-store.js'),
    import('../backends/index.js'),
  ])
  const profile = await resolveProfile(profileName)
  const runs = new RunStore(await openStore(profile.profile.store, profile.profile))
  return {runs, backend: await backendFor(profile.profile.backend)}
}

/** `<run>` or, for a child of an array job, `<run>/array-<i>`: where its checkpoints live. */
const owner = (runId: string, options: RunLookup) => (options.arrayIndex === undefined ? runId : `${runId}/array-${options.arrayIndex}`)

export const pluginRuns: PluginRuns = {
  async get(runId, options = {}) {
    const ctx = await context(options.profile)
    let run = await ctx.runs.get(runId)
    // like rfm cloud status: a cloud backend's view (attempts, state) merged into the record first
    if (ctx.backend.refresh && run.backend.name === ctx.backend.name) run = await ctx.backend.refresh(run, ctx.runs)
    return run
  },
}

/** RUN, RUN@<step>, RUN@best, RUN@final, RUN@latest → the run and which checkpoint. */
function parseRef(ref: string): {runId: string; choice: CheckpointChoice | 'final-else-latest'} {
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:@(\d+|best|final|latest))?$/.exec(ref)
  if (!m) throw new UsageError(`"${ref}" is not a checkpoint reference.`, {hint: 'Use RUN, RUN@best, RUN@final, RUN@latest or RUN@<step>.'})
  const [, runId, at] = m
  if (at === undefined) return {runId, choice: 'final-else-latest'}
  if (at === 'latest') return {runId, choice: 'latest'}
  if (at === 'best' || at === 'final') return {runId, choice: {pointer: at}}
  return {runId, choice: {step: Number(at)}}
}

export const pluginCheckpoints: PluginCheckpoints = {
  async list(runId, options = {}) {
    const ctx = await context(options.profile)
    const run = await ctx.runs.get(runId)
    const {checkpointRows} = await import('../checkpoint/rows.js')
    return {run: run.id, checkpoints: await checkpointRows(ctx.runs.store, owner(run.id, options))}
  },

  async pull(ref, dir, options = {}) {
    const {runId, choice} = parseRef(ref)
    const ctx = await context(options.profile)
    const run = await ctx.runs.get(runId)
    const [{CheckpointStore}, {chooseCheckpoint, pullCheckpoint}] = await Promise.all([import('../checkpoint/store.js'), import('../checkpoint/pull.js')])
    const checkpoints = new CheckpointStore(ctx.runs.store, owner(run.id, options))
    // RUN alone: the final checkpoint if the run finished, else its newest
    const checkpoint =
      choice === 'final-else-latest' ? await chooseCheckpoint(checkpoints, {pointer: 'final'}).catch(() => chooseCheckpoint(checkpoints, 'latest')) : await chooseCheckpoint(checkpoints, choice)
    const target = path.resolve(dir)
    const files = await pullCheckpoint(checkpoints, checkpoint, target)
    return {run: run.id, step: checkpoint.step, dir: target, files}
  },

  local: (dir) => new DirectoryCheckpoints(dir),
}
