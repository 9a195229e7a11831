import {NotFoundError, UsageError} from '../errors'
import {SafeTree} from '../paths'
import {checkRelativePath} from './manifest'
import type {CheckpointStore, CommittedCheckpoint} from './store'

export type CheckpointChoice = {step: number} | {pointer: 'best' | 'final'} | 'latest'

/** Picks a committed checkpoint: a step, the best or final one, or the newest. */
export async function chooseCheckpoint(checkpoints: CheckpointStore, choice: CheckpointChoice): Promise<CommittedCheckpoint> {
  const all = await checkpoints.list()
  let step: number | undefined
  if (choice === 'latest') step = all.at(-1)?.step
  else if ('step' in choice) step = choice.step
  else step = (await checkpoints.pointer(choice.pointer))?.step
  const found = all.find((c) => c.step === step)
  if (!found) {
    const what = choice === 'latest' ? 'committed checkpoint' : 'step' in choice ? `committed checkpoint at step ${choice.step}` : `${choice.pointer} checkpoint`
    throw new NotFoundError(`Run ${checkpoints.runId} has no ${what}.`, {
      hint: all.length > 0 ? `Committed steps: ${all.map((c) => c.step).join(', ')}.` : 'It has not committed a checkpoint yet.',
    })
  }
  return found
}

/** Downloads a checkpoint into `dir`, verifying every file against the manifest first. */
export async function pullCheckpoint(checkpoints: CheckpointStore, checkpoint: CommittedCheckpoint, dir: string): Promise<string[]> {
  for (const entry of checkpoint.manifest.files ?? []) checkedPath(checkpoints.runId, checkpoint.step, entry.path)
  const files = await checkpoints.read(checkpoint)
  if (!files) throw new NotFoundError(`Checkpoint step ${checkpoint.step} of run ${checkpoints.runId} is damaged: its files do not match its manifest.`, {hint: 'Pull another step with --step.'})
  // Symlinks already in DIR are replaced, never written through (a file is renamed into place).
  const tree = await SafeTree.open(dir)
  const written: string[] = []
  for (const [file, data] of files) {
    await tree.writeFile(checkedPath(checkpoints.runId, checkpoint.step, file), data)
    written.push(file)
  }
  return written
}

/** A manifest path that could leave DIR is a crafted or damaged checkpoint, not a bug in rfm. */
function checkedPath(runId: string, step: number, file: string): string {
  try {
    return checkRelativePath(file)
  } catch {
    throw new UsageError(`Refusing checkpoint step ${step} of run ${runId}: its manifest names the unsafe path ${JSON.stringify(file)}.`, {
      code: 'UNSAFE_MANIFEST',
      hint: 'The manifest is crafted or damaged; pull another step with --step.',
    })
  }
}
