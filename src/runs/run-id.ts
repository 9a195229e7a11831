import {randomBytes} from 'node:crypto'

import {UsageError} from '../errors'

// 4 hex digits in ids made before 8 were used; both stay valid.
const RUN_ID = /^[a-z][a-z0-9-]*-\d{8}-\d{6}-[0-9a-f]{4}(?:[0-9a-f]{4})?$/

/**
 * Run ids are readable and sort by start time within a kind: `sft-20261122-153012-ab12cd34`
 * (kind, UTC date, UTC time to the second, 8 random hex digits: 100 launches of one kind in one
 * second collide with probability ~1e-6, and RunStore.create refuses to overwrite a record anyway).
 */
export function newRunId(kind: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return `${kind}-${stamp}-${randomBytes(4).toString('hex')}`
}

export function checkRunId(id: string): string {
  if (!RUN_ID.test(id)) {
    throw new UsageError(`"${id}" is not a run id.`, {hint: 'Run ids look like command-20261122-153012-ab12; list them with rfm cloud ls.'})
  }
  return id
}
