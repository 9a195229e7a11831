import type {Backend} from './types'

/**
 * The backend a profile names. Each is loaded only when used. The local one, which every command on
 * a local profile needs, is loaded with require: compiled to CommonJS, an `await import()` starts
 * Node's ES module loader (~10 ms of `rfm cloud launch --dry-run` on Node 20).
 */
export async function backendFor(name: 'local' | 'aws-batch'): Promise<Backend> {
  if (name === 'local') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const {LocalBackend} = require('./local/index.js') as typeof import('./local/index.js')
    return new LocalBackend()
  }
  return new (await import('./aws-batch/index.js')).BatchBackend()
}

export type {Backend, BackendOptions, BackendRequest, JobNeeds, LiveView, LogChunk, QueueJob} from './types'
