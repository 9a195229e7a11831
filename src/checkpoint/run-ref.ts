/**
 * `RUN[@step|@best|@final|@latest]`: another run's committed checkpoint, the usual start of a
 * later stage (DPO from SFT, GRPO from SFT, stage 2 from stage 1). Read from the same store and
 * verified against its manifest, like `rfm ckpt pull`.
 */
import {NotFoundError, UsageError} from '../errors'
import type {ObjectStore} from '../store/types'
import {chooseCheckpoint, CheckpointChoice} from './pull'
import {CheckpointStore} from './store'
import {savedFromFiles} from './store-io'
import type {SavedCheckpoint} from './types'

export interface RunCheckpointRef {
  runId: string
  /** undefined: the final checkpoint if the run finished, else its newest */
  choice?: CheckpointChoice
}

export function parseRunCheckpointRef(ref: string): RunCheckpointRef {
  const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:@(\d+|best|final|latest))?$/.exec(ref.trim())
  if (!match) {
    throw new UsageError(`"${ref}" is not a run checkpoint reference.`, {
      hint: 'Use RUN, RUN@<step>, RUN@best, RUN@final or RUN@latest (run ids as `rfm cloud ls` shows them).',
    })
  }
  const [, runId, at] = match
  if (at === undefined) return {runId}
  if (at === 'latest') return {runId, choice: 'latest'}
  if (at === 'best' || at === 'final') return {runId, choice: {pointer: at}}
  return {runId, choice: {step: Number(at)}}
}

export async function loadRunCheckpoint(store: ObjectStore, ref: string): Promise<SavedCheckpoint & {runId: string}> {
  const parsed = parseRunCheckpointRef(ref)
  const checkpoints = new CheckpointStore(store, parsed.runId)
  let choice = parsed.choice
  if (!choice) choice = (await checkpoints.pointer('final')) ? {pointer: 'final'} : 'latest'
  const checkpoint = await chooseCheckpoint(checkpoints, choice)
  const files = await checkpoints.read(checkpoint)
  if (!files) {
    throw new NotFoundError(`Checkpoint step ${checkpoint.step} of run ${parsed.runId} is damaged: its files do not match its manifest.`, {
      hint: `Choose another step: ${parsed.runId}@<step> (rfm ckpt ls ${parsed.runId}).`,
    })
  }
  return {runId: parsed.runId, ...savedFromFiles(checkpoint.step, files)}
}
