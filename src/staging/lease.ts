import {randomBytes} from 'node:crypto'
import * as os from 'node:os'

import type {ObjectStore} from '../store/types'

/**
 * Staging leases: `datasets/leases/<id>.json`, written when a stage starts, renewed every minute
 * while it runs, deleted when it ends. A stage uploads objects before the manifest that references
 * them, so `gc` deletes no unreferenced object while any lease is fresh (renewed within LEASE_TTL).
 * A stage killed with SIGKILL leaves its lease behind; it goes stale after LEASE_TTL and gc removes it.
 */
export const LEASES_PREFIX = 'datasets/leases/'
export const LEASE_TTL_MS = 10 * 60_000
const RENEW_MS = 60_000

export interface Lease {
  key: string
  end(): Promise<void>
}

export async function startLease(store: ObjectStore): Promise<Lease> {
  const key = `${LEASES_PREFIX}${Date.now().toString(36)}-${randomBytes(4).toString('hex')}.json`
  const startedAt = new Date().toISOString()
  // No fsync: a lease matters only while its stage runs, and a crash that could lose it ends that stage.
  const write = () => store.put(key, JSON.stringify({startedAt, renewedAt: new Date().toISOString(), host: os.hostname(), pid: process.pid}) + '\n', {durable: false})
  await write()
  const timer = setInterval(() => void write().catch(() => undefined), RENEW_MS).unref()
  return {
    key,
    async end() {
      clearInterval(timer)
      await store.delete(key).catch(() => undefined)
    },
  }
}

/** Fresh leases (stages in progress) and stale ones (killed stages), by the lease object's mtime. */
export async function readLeases(store: ObjectStore, now = Date.now()): Promise<{fresh: string[]; stale: string[]}> {
  const {objects} = await store.list(LEASES_PREFIX)
  const fresh: string[] = []
  const stale: string[] = []
  for (const object of objects) (now - object.modified.getTime() < LEASE_TTL_MS ? fresh : stale).push(object.key)
  return {fresh, stale}
}
