import {promises as fs} from 'node:fs'
import * as path from 'node:path'

import {NotFoundError} from '../errors'
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
  const files = await checkpoints.read(checkpoint)
  if (!files) throw new NotFoundError(`Checkpoint step ${checkpoint.step} of run ${checkpoints.runId} is damaged: its files do not match its manifest.`, {hint: 'Pull another step with --step.'})
  const written: string[] = []
  for (const [file, data] of files) {
    const target = path.join(dir, checkRelativePath(file))
    await fs.mkdir(path.dirname(target), {recursive: true})
    await fs.writeFile(target, data)
    written.push(file)
  }
  return written
}
