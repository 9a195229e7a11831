import {NotBuiltError, UsageError} from '../errors'
import {FileStore} from './file-store'
import type {ObjectStore} from './types'

/** Opens the store a URL names. Heavy clients (S3) are imported only when such a URL is used. */
export async function openStore(url: string): Promise<ObjectStore> {
  if (url.startsWith('file:')) return new FileStore(url)
  if (url.startsWith('s3://')) {
    throw new NotBuiltError('The S3 object store is not built in this version of rfm.', {
      hint: 'Use a file:// store (the default) for now: rfm config set store file:///path/to/store',
    })
  }
  throw new UsageError(`Unsupported store URL "${url}".`, {
    hint: 'Use file:///absolute/path or s3://bucket/prefix.',
  })
}

export type {ObjectStore, ObjectInfo, ListResult} from './types'
export {FileStore} from './file-store'
