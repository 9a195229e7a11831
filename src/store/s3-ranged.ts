/**
 * S3 downloads into local files (S3Store.downloadFile): parallel ranged GETs for large objects on
 * AWS S3, one streamed GET otherwise.
 */
import {createHash} from 'node:crypto'
import {promises as fs} from 'node:fs'
import * as path from 'node:path'

import {outagePolicyFromEnv, withOutageRetry} from './outage'
import {readBody} from './s3-body'
import {isNotFound} from './s3-errors'
import type {S3Store} from './s3-store'
import {streamToFile} from './transfer'
import type {PutFileOptions, Transferred} from './types'

/**
 * Large objects come down as parallel ranged GETs (4 in flight, each pinned to the object's ETag
 * so a replaced object fails rather than mixing), hashed and written in order; small ones stream.
 */
export async function downloadFileRanged(store: S3Store, key: string, file: string, options: PutFileOptions = {}): Promise<Transferred | undefined> {
  let info: {size: number; etag?: string}
  try {
    const out = await store.client.send(new store.sdk.HeadObjectCommand({Bucket: store.bucket, Key: store.fullKey(key)}))
    info = {size: out.ContentLength ?? 0, etag: out.ETag}
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw store.failure('inspect', key, error)
  }
  if (info.size <= store.multipartThreshold || !store.rangedDownloads) {
    const stream = await store.getStream(key)
    return stream ? streamToFile(stream, file, options) : undefined
  }
  await fs.mkdir(path.dirname(file), {recursive: true})
  const tmp = `${file}.rfm-part-${process.pid}`
  const handle = await fs.open(tmp, 'w')
  const hash = createHash('sha256')
  const policy = outagePolicyFromEnv()
  const fetchRange = (start: number, end: number): Promise<Buffer> =>
    withOutageRetry(policy, 'read', key, async () => {
      const out = await store.client.send(new store.sdk.GetObjectCommand({Bucket: store.bucket, Key: store.fullKey(key), Range: `bytes=${start}-${end}`, ...(info.etag ? {IfMatch: info.etag} : {})}))
      return readBody(out.Body, store.bodyIdleTimeoutMs)
    })
  try {
    const partSize = Math.max(store.partSize, Math.ceil(info.size / 9000))
    const ranges: Array<[number, number]> = []
    for (let start = 0; start < info.size; start += partSize) ranges.push([start, Math.min(info.size, start + partSize) - 1])
    const pending: Array<Promise<Buffer>> = []
    let next = 0
    const fill = () => {
      while (next < ranges.length && pending.length < 4) {
        const [start, end] = ranges[next++]
        const promise = fetchRange(start, end)
        promise.catch(() => undefined)
        pending.push(promise)
      }
    }
    fill()
    for (const [start, end] of ranges) {
      const body = await (pending.shift() as Promise<Buffer>)
      fill()
      if (body.length !== end - start + 1) throw new Error(`short range ${start}-${end}: ${body.length} bytes`)
      hash.update(body)
      await handle.write(body, 0, body.length, start)
      options.onProgress?.(body.length)
    }
    await handle.sync()
    await handle.close()
    await fs.rename(tmp, file)
    return {size: info.size, sha256: hash.digest('hex')}
  } catch (error) {
    await handle.close().catch(() => undefined)
    await fs.rm(tmp, {force: true})
    throw store.failure('download', key, error)
  }
}
