import {BackendError, NotFoundError} from '../errors'
import type {ObjectStore} from '../store/types'
import type {RunEvent, RunRecord} from './record'
import {checkRunId} from './run-id'

/** Reads and writes the run layout of DESIGN.md: run.json, events.jsonl and logs/ under runs/<id>/. */
export class RunStore {
  constructor(readonly store: ObjectStore) {}

  static runKey(id: string, file: string): string {
    return `runs/${id}/${file}`
  }

  static logKey(id: string, attempt: number): string {
    return `runs/${id}/logs/attempt-${attempt}.log`
  }

  async create(record: RunRecord): Promise<void> {
    await this.store.put(RunStore.runKey(record.id, 'run.json'), JSON.stringify(record, null, 2) + '\n')
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
        hint: 'List runs with rfm cloud ls; a run started under another profile lives in that profile\'s store (--profile).',
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
    await this.store.append(RunStore.runKey(id, 'events.jsonl'), JSON.stringify(event) + '\n')
  }

  async events(id: string): Promise<RunEvent[]> {
    const bytes = await this.store.get(RunStore.runKey(id, 'events.jsonl'))
    if (!bytes) return []
    // A torn last line (a writer killed mid-append) is skipped rather than failing the reader.
    return bytes
      .toString('utf8')
      .split('\n')
      .flatMap((line) => {
        if (!line.trim()) return []
        try {
          return [JSON.parse(line) as RunEvent]
        } catch {
          return []
        }
      })
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
    return records
      .filter((r): r is RunRecord => r !== undefined)
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1))
  }
}
