import type {Backend} from './types'

/** The backend a profile names. Each is imported only when used. */
export async function backendFor(name: 'local' | 'aws-batch'): Promise<Backend> {
  if (name === 'local') return new (await import('./local/index.js')).LocalBackend()
  return new (await import('./aws-batch/index.js')).BatchBackend()
}

export type {Backend, BackendOptions, BackendRequest, JobNeeds, LiveView, LogChunk, QueueJob} from './types'
