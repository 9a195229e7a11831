import {UsageError} from '../errors'
import {FileStore} from './file-store'
import type {ObjectStore} from './types'

export interface StoreOptions {
  /** AWS region for s3:// stores (profile key `region`) */
  region?: string
  /** S3-compatible endpoint (profile key `endpoint`); falls back to $RFM_S3_ENDPOINT */
  endpoint?: string
}

/** Opens the store a URL names. Heavy clients (S3) are imported only when such a URL is used. */
export async function openStore(url: string, options: StoreOptions = {}): Promise<ObjectStore> {
  if (url.startsWith('file:')) return new FileStore(url)
  if (url.startsWith('s3://')) {
    const endpoint = options.endpoint ?? process.env.RFM_S3_ENDPOINT
    const region = options.region ?? process.env.RFM_S3_REGION
    // Processes this one starts (the local backend's supervisor, the runtime) open the store from
    // its URL alone; the environment carries the profile's endpoint and region to them.
    if (endpoint) process.env.RFM_S3_ENDPOINT = endpoint
    if (region) process.env.RFM_S3_REGION = region
    const {S3Store} = await import('./s3-store.js')
    return S3Store.open(url, {endpoint, region})
  }
  throw new UsageError(`Unsupported store URL "${url}".`, {
    hint: 'Use file:///absolute/path or s3://bucket/prefix.',
  })
}

export type {ObjectStore, ObjectInfo, ListResult} from './types'
export {FileStore} from './file-store'
