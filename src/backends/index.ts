import {NotBuiltError} from '../errors'
import type {Backend} from './types'

/** The backend a profile names. Each is imported only when used. */
export async function backendFor(name: 'local' | 'aws-batch'): Promise<Backend> {
  if (name === 'local') return new (await import('./local/index.js')).LocalBackend()
  throw new NotBuiltError('The aws-batch backend is not built in this version of rfm.', {
    hint: 'Use the local backend for now: rfm config set backend local',
  })
}

export type {Backend, LiveView} from './types'
