/**
 * S3 uploads of local files (S3Store.putFile/uploadFile): one PUT of a buffer up to the multipart
 * threshold, else a multipart upload with parts in parallel, sized to stay under S3's 10,000 parts.
 */
import {createHash} from 'node:crypto'
import {createReadStream, promises as fs} from 'node:fs'

import {outagePolicyFromEnv, withOutageRetry} from './outage'
import type {S3Store} from './s3-store'
import {checkStable, UnstableFileError} from './transfer'
import type {PutFileOptions, Transferred} from './types'

const MiB = 1024 * 1024

export async function putFileMultipart(store: S3Store, key: string, file: string, options: PutFileOptions = {}): Promise<void> {
  const {size} = await fs.stat(file)
  try {
    if (size <= store.multipartThreshold) {
      // A buffer body (not a stream) lets the SDK resend it on a retry.
      const bytes = await fs.readFile(file)
      await store.client.send(new store.sdk.PutObjectCommand({Bucket: store.bucket, Key: store.fullKey(key), Body: bytes, ContentLength: bytes.length}))
      options.onProgress?.(bytes.length)
      return
    }
    const {Upload} = await import('@aws-sdk/lib-storage')
    // Parts are buffered by lib-storage, so each one is retried on its own; S3 allows 10,000 parts.
    const partSize = Math.max(store.partSize, Math.ceil(size / 9000))
    const upload = new Upload({
      client: store.client,
      params: {Bucket: store.bucket, Key: store.fullKey(key), Body: createReadStream(file, {highWaterMark: MiB}), ContentLength: size},
      partSize,
      queueSize: 4,
      // We abort ourselves below: lib-storage would let a failed abort (some S3-compatible
      // servers answer 405) replace the error that actually stopped the upload.
      leavePartsOnError: true,
    })
    let sent = 0
    upload.on('httpUploadProgress', (progress) => {
      const loaded = progress.loaded ?? 0
      if (loaded > sent) {
        options.onProgress?.(loaded - sent)
        sent = loaded
      }
    })
    try {
      await upload.done()
    } catch (error) {
      const uploadId = (upload as unknown as {uploadId?: string}).uploadId
      if (uploadId) {
        await store.client.send(new store.sdk.AbortMultipartUploadCommand({Bucket: store.bucket, Key: store.fullKey(key), UploadId: uploadId})).catch(() => undefined)
      }
      throw error
    }
    if (size > sent) options.onProgress?.(size - sent)
  } catch (error) {
    throw store.failure('upload', key, error)
  }
}

/**
 * One read of the file feeds both the sha256 and the upload. Above the multipart threshold, parts
 * (sized so a file stays under S3's 10,000 parts) go up 4 at a time, so memory is about 5 parts
 * whatever the file size; a part that fails is retried on its own with backoff (the upload resumes
 * with the parts S3 already has) until the outage budget is spent, then the upload is aborted.
 */
export async function uploadFileMultipart(store: S3Store, key: string, file: string, options: PutFileOptions = {}): Promise<Transferred> {
  const before = await fs.stat(file)
  const size = before.size
  const handle = await fs.open(file, 'r')
  const hash = createHash('sha256')
  const readPart = async (offset: number, length: number): Promise<Buffer> => {
    const buffer = Buffer.allocUnsafe(length)
    let filled = 0
    while (filled < length) {
      const {bytesRead} = await handle.read(buffer, filled, length - filled, offset + filled)
      if (bytesRead === 0) throw new UnstableFileError(file, `${offset + filled} bytes read of ${size}`)
      filled += bytesRead
    }
    return buffer
  }
  try {
    if (size <= store.multipartThreshold) {
      const bytes = await readPart(0, size)
      await checkStable(file, before, size)
      const sha256 = hash.update(bytes).digest('hex')
      await store.put(key, bytes, {sha256})
      options.onProgress?.(size)
      return {size, sha256}
    }
    const partSize = Math.max(store.partSize, Math.ceil(size / 9000))
    const Key = store.fullKey(key)
    const created = await store.client.send(new store.sdk.CreateMultipartUploadCommand({Bucket: store.bucket, Key})).catch((error) => {
      throw store.failure('upload', key, error)
    })
    const UploadId = created.UploadId as string
    const parts: Array<{ETag: string; PartNumber: number}> = []
    const inFlight = new Set<Promise<void>>()
    let failed: unknown
    const policy = outagePolicyFromEnv()
    try {
      for (let offset = 0, number = 1; offset < size; offset += partSize, number++) {
        const body = await readPart(offset, Math.min(partSize, size - offset))
        hash.update(body)
        const PartNumber = number
        const sending: Promise<void> = withOutageRetry(policy, 'upload part of', key, () =>
          store.client.send(new store.sdk.UploadPartCommand({Bucket: store.bucket, Key, UploadId, PartNumber, Body: body, ContentLength: body.length})),
        ).then(
          (out) => {
            parts.push({ETag: out.ETag as string, PartNumber})
            options.onProgress?.(body.length)
            inFlight.delete(sending)
          },
          (error) => {
            failed ??= error
            inFlight.delete(sending)
          },
        )
        inFlight.add(sending)
        while (inFlight.size >= 4) await Promise.race(inFlight)
        if (failed) throw failed
      }
      await Promise.all(inFlight)
      if (failed) throw failed
      await checkStable(file, before, size)
      parts.sort((a, b) => a.PartNumber - b.PartNumber)
      await withOutageRetry(policy, 'complete', key, () => store.client.send(new store.sdk.CompleteMultipartUploadCommand({Bucket: store.bucket, Key, UploadId, MultipartUpload: {Parts: parts}})))
      return {size, sha256: hash.digest('hex')}
    } catch (error) {
      await Promise.allSettled(inFlight)
      await store.client.send(new store.sdk.AbortMultipartUploadCommand({Bucket: store.bucket, Key, UploadId})).catch(() => undefined)
      throw error instanceof UnstableFileError ? error : store.failure('upload', key, error)
    }
  } finally {
    await handle.close()
  }
}
