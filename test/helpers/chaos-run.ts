/**
 * What the chaos tests of the built-in trainers share: launch a run through the CLI and pull its
 * final checkpoint, count the kills that landed, and compare two final checkpoints bit for bit.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import type {RunRecord} from '../../src/runs/record'
import {rfm, rfmJson} from './cli'

export interface FinishedRun {
  run: RunRecord
  /** the files of its final checkpoint */
  files: Map<string, Buffer>
}

/** `rfm cloud launch KIND --follow ARGS`, which must succeed, then `rfm ckpt pull RUN --final`. */
export async function launchAndPullFinal(kind: string, args: string[], options: {home: string; timeoutMs: number}): Promise<FinishedRun> {
  const {code, json, stderr} = await rfmJson(['cloud', 'launch', kind, '--follow', ...args], options)
  assert.equal(code, 0, stderr + JSON.stringify(json))
  const run = json.run as RunRecord
  const out = mkdtempSync(path.join(os.tmpdir(), `rfm-${kind}-final-`))
  const pulled = await rfm(['ckpt', 'pull', run.id, out, '--final'], {home: options.home})
  assert.equal(pulled.code, 0, pulled.stderr)
  return {run, files: new Map(readdirSync(out).map((f) => [f, readFileSync(path.join(out, f))]))}
}

/**
 * Kills come at random times after each start; on a fast machine the run may end before the last
 * ones, so a test asks for most of them (the bitwise comparison is what matters). Returns the count.
 */
export function assertMostKillsLanded(run: RunRecord, kills: number): number {
  const landed = run.attempts.filter((a) => a.chaos).length
  assert.ok(landed >= Math.ceil(kills / 2) && landed <= kills, `${landed} of ${kills} kills landed`)
  return landed
}

/** The trainer state without the record of where a run was resumed (history, not training state). */
export function trainingState(files: Map<string, Buffer>): {state: Record<string, unknown>; resumedAt: number[]} {
  const parsed = JSON.parse(files.get('trainer_state.json')!.toString('utf8')) as {scheduler: {resumedAt: number[]}}
  const resumedAt = parsed.scheduler.resumedAt
  parsed.scheduler.resumedAt = []
  return {state: parsed, resumedAt}
}

/** Same files; every file but trainer_state.json equal byte for byte, and the training state equal. */
export function assertSameFinalCheckpoint(chaotic: FinishedRun, reference: FinishedRun): void {
  assert.deepEqual([...chaotic.files.keys()].sort(), [...reference.files.keys()].sort())
  for (const [name, bytes] of reference.files) {
    if (name === 'trainer_state.json') continue
    assert.ok(bytes.equals(chaotic.files.get(name)!), `${name} differs`)
  }
  assert.deepEqual(trainingState(chaotic.files).state, trainingState(reference.files).state)
}
