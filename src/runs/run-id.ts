import {randomBytes} from 'node:crypto'

import {UsageError} from '../errors'

const RUN_ID = /^[a-z][a-z0-9-]*-\d{8}-\d{6}-[0-9a-f]{4}$/

/**
 * Run ids are readable and sort by start time within a kind: `sft-20261122-153012-ab12`
 * (kind, UTC date, UTC time to the second, 4 random hex digits against collisions).
 */
export function newRunId(kind: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return `${kind}-${stamp}-${randomBytes(2).toString('hex')}`
}

export function checkRunId(id: string): string {
  if (!RUN_ID.test(id)) {
    throw new UsageError(`"${id}" is not a run id.`, {hint: 'Run ids look like command-20261122-153012-ab12; list them with rfm cloud ls.'})
  }
  return id
}
