import {randomBytes} from 'node:crypto'

import {BackendError, NotFoundError} from '../errors'
import {putIfAbsentByHead} from '../store/outage'
import type {ObjectStore} from '../store/types'
import type {RunEvent, RunRecord} from './record'
import {checkRunId, newRunId} from './run-id'

/** Reads and writes the run layout of DESIGN.md: run.json, events.jsonl and logs/ under runs/<id>/. */
export class RunStore {
  /**
   * This process's own event segment, on stores without an atomic append (S3): many processes write
   * a run's events (the supervisor or Batch, each array child's runtime, the CLI's cancel and
   * refresh), and a read-modify-write append by one would drop another's. One segment per writer,
   * read back merged by time, loses nothing.
   */
  private readonly writer = `${Date.now().toString(36)}-${process.pid}-${randomBytes(4).toString('hex')}`

  constructor(readonly store: ObjectStore) {}

  static runKey(id: string, file: string): string {
    return `runs/${id}/${file}`
  }

  static logKey(id: string, attempt: number): string {
    return `runs/${id}/logs/attempt-${attempt}.log`
  }

  /**
   * Records a new run without ever replacing another run's record: run.json is a conditional write
   * (create-if-absent). Should the id be taken (a same-second launch drew the same random part),
   * the record gets a fresh id, in place, and is written again.
   */
  async create(record: RunRecord): Promise<void> {
    for (let tries = 1; ; tries++) {
      const body = JSON.stringify(record, null, 2) + '\n'
      const key = RunStore.runKey(record.id, 'run.json')
      const created = this.store.putIfAbsent ? await this.store.putIfAbsent(key, body) : await putIfAbsentByHead(this.store, key, body)
      if (created) break
      if (tries >= 5) throw new BackendError(`Could not find a free run id for ${record.kind} (run ${record.id} exists).`)
      record.id = newRunId(record.kind, new Date(record.createdAt))
    }
    await this.appendEvent(record.id, {type: 'run_created', time: record.createdAt})
  }

  async find(id: string): Promise<RunRecord | undefined> {
    checkRunId(id)
    // S3-compatible servers that write in place (s3rver, some NAS gateways) can show a reader half an
    // object while it is replaced; real S3 and the file store cannot. Re-read a few times first.
    for (let tries = 1; ; tries++) {
      const bytes = await this.store.get(RunStore.runKey(id, 'run.json'))
      if (!bytes) return undefined
      try {
        return JSON.parse(bytes.toString('utf8')) as RunRecord
      } catch {
        if (tries >= 5) throw new BackendError(`The record of run ${id} is damaged (runs/${id}/run.json is not JSON).`)
        await new Promise((resolve) => setTimeout(resolve, 50 * tries))
      }
    }
  }

  async get(id: string): Promise<RunRecord> {
    const record = await this.find(id)
    if (!record) {
      throw new NotFoundError(`Run ${id} does not exist in ${this.store.url}.`, {
        hint: "List runs with rfm cloud ls; a run started under another profile lives in that profile's store (--profile).",
      })
    }
    return record
  }

  /** Read-modify-write of run.json. Only one process (the backend's supervisor) updates a live run. */
  async update(id: string, change: (record: RunRecord) => void): Promise<RunRecord> {
    const record = await this.get(id)
    change(record)
    record.updatedAt = new Date().toISOString()
    await this.store.put(RunStore.runKey(id, 'run.json'), JSON.stringify(record, null, 2) + '\n')
    return record
  }

  async appendEvent(id: string, event: RunEvent): Promise<void> {
    const key = this.store.atomicAppend ? RunStore.runKey(id, 'events.jsonl') : RunStore.runKey(id, `events/${this.writer}.jsonl`)
    await this.store.append(key, JSON.stringify(event) + '\n')
  }

  /** events.jsonl and every writer's segment, merged in time order (a writer's own order kept on ties). */
  async events(id: string): Promise<RunEvent[]> {
    const keys = [RunStore.runKey(id, 'events.jsonl'), ...(await this.store.list(RunStore.runKey(id, 'events/'))).objects.map((o) => o.key).filter((k) => k.endsWith('.jsonl'))]
    const segments = await Promise.all(keys.map((key) => this.store.get(key)))
    const all: Array<{event: RunEvent; order: number}> = []
    for (const bytes of segments) {
      if (!bytes) continue
      // A torn last line (a writer killed mid-append) is skipped rather than failing the reader.
      for (const line of bytes.toString('utf8').split('\n')) {
        if (!line.trim()) continue
        try {
          all.push({event: JSON.parse(line) as RunEvent, order: all.length})
        } catch {
          // skipped
        }
      }
    }
    const time = (e: RunEvent) => (typeof e.time === 'string' ? e.time : '')
    return all.sort((a, b) => (time(a.event) < time(b.event) ? -1 : time(a.event) > time(b.event) ? 1 : a.order - b.order)).map((x) => x.event)
  }

  /** All runs, newest first. */
  async list(): Promise<RunRecord[]> {
    const {prefixes} = await this.store.list('runs/', {delimited: true})
    const records = await Promise.all(
      prefixes.map(async (prefix) => {
        const bytes = await this.store.get(prefix + 'run.json')
        if (!bytes) return undefined
        try {
          return JSON.parse(bytes.toString('utf8')) as RunRecord
        } catch {
          return undefined
        }
      }),
    )
    return records.filter((r): r is RunRecord => r !== undefined).sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1))
  }
}
