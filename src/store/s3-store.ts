/**
 * The object store on S3 or any S3-compatible endpoint (MinIO, R2, s3rver). Loaded lazily by
 * openStore: importing the AWS SDK costs hundreds of milliseconds, which `rfm --help` must not pay.
 *
 * - Credentials come from the SDK's default chain (env, shared config/SSO, instance/task roles).
 * - Retries: the SDK's standard strategy (exponential backoff with jitter) on throttling, 5xx and
 *   connection resets, with more attempts than its default; callers that move many files add a
 *   per-file retry on top (src/staging/retry.ts).
 * - `append` is read-modify-write (S3 has no append): correct only with a single writer per key.
 *   Logs have one writer each; a run's events, which many processes write, go to one segment per
 *   writer (RunStore.appendEvent).
 */
import {createHash} from 'node:crypto'
import {createReadStream, promises as fs} from 'node:fs'
import * as path from 'node:path'
import type {Readable} from 'node:stream'

import type {S3Client} from '@aws-sdk/client-s3'

import {BackendError, UsageError} from '../errors'
import {checkKey} from './keys'
import {outagePolicyFromEnv, withOutageRetry} from './outage'
import {isRetryable} from './retryable'
import {checkStable, streamToFile, UnstableFileError} from './transfer'
import type {ListResult, ObjectInfo, ObjectStore, PutFileOptions, PutOptions, Transferred} from './types'

export interface S3StoreOptions {
  region?: string
  /** S3-compatible endpoint URL; path-style addressing is used with it. */
  endpoint?: string
  /** explicit credentials (tests); otherwise the SDK's default chain */
  credentials?: {accessKeyId: string; secretAccessKey: string}
  /** total attempts per request, retries included (default 8) */
  maxAttempts?: number
  /** ListObjectsV2 page size (default 1000, S3's maximum); small values exercise paging in tests */
  pageSize?: number
  /**
   * files above this size go up as multipart uploads with parallel parts (default 64 MiB: below it a
   * single PUT of a buffer is faster on most S3-compatible servers and is retried whole)
   */
  multipartThreshold?: number
  /** multipart part size (default 16 MiB, more for files over 140 GiB; S3's minimum is 5 MiB) */
  partSize?: number
  /**
   * large downloads as parallel ranged GETs (default: on AWS S3; off with a custom endpoint, where
   * servers such as s3rver serve a range no faster than the whole object and one stream is faster:
   * measured 1.7-2.4x slower than one GET on s3rver in `npm run bench -- checkpoint`)
   */
  rangedDownloads?: boolean
}

const MiB = 1024 * 1024

export function parseS3Url(url: string): {bucket: string; prefix: string} {
  const match = /^s3:\/\/([^/?#]+)\/?([^?#]*)$/.exec(url)
  if (!match || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(match[1])) {
    throw new UsageError(`Invalid S3 store URL "${url}".`, {hint: 'Use s3://bucket or s3://bucket/prefix (bucket names are 3-63 lowercase letters, digits, dots and hyphens).'})
  }
  const prefix = match[2].replace(/\/+$/, '')
  if (prefix) checkKey(prefix)
  return {bucket: match[1], prefix: prefix ? prefix + '/' : ''}
}

export class S3Store implements ObjectStore {
  readonly url: string
  readonly bucket: string
  readonly prefix: string
  readonly client: S3Client
  private readonly sdk: typeof import('@aws-sdk/client-s3')
  private readonly pageSize: number
  private readonly multipartThreshold: number
  private readonly partSize: number
  private readonly rangedDownloads: boolean

  private constructor(url: string, sdk: typeof import('@aws-sdk/client-s3'), options: S3StoreOptions) {
    const {bucket, prefix} = parseS3Url(url)
    this.url = `s3://${bucket}/${prefix}`.replace(/\/$/, '')
    this.bucket = bucket
    this.prefix = prefix
    this.sdk = sdk
    this.pageSize = options.pageSize ?? 1000
    this.multipartThreshold = options.multipartThreshold ?? 64 * MiB
    this.partSize = options.partSize ?? 16 * MiB
    this.rangedDownloads = options.rangedDownloads ?? !options.endpoint
    const endpoint = options.endpoint
    this.client = new sdk.S3Client({
      region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      maxAttempts: options.maxAttempts ?? 8,
      ...(options.credentials ? {credentials: options.credentials} : {}),
      ...(endpoint
        ? {
            endpoint,
            forcePathStyle: true,
            // S3-compatible servers differ in their support of the SDK's default flexible checksums
            // (s3rver stores the aws-chunked framing of streamed bodies as data); rfm verifies
            // sha256 of every file itself, so only send checksums an operation requires.
            requestChecksumCalculation: 'WHEN_REQUIRED',
            responseChecksumValidation: 'WHEN_REQUIRED',
          }
        : {}),
      requestHandler: {connectionTimeout: 10_000, requestTimeout: 120_000},
    })
  }

  static async open(url: string, options: S3StoreOptions = {}): Promise<S3Store> {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
    const sdk = await import('@aws-sdk/client-s3')
    return new S3Store(url, sdk, options)
  }

  private fullKey(key: string): string {
    return this.prefix + checkKey(key)
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      const out = await this.client.send(new this.sdk.GetObjectCommand({Bucket: this.bucket, Key: this.fullKey(key)}))
      return Buffer.from(await out.Body!.transformToByteArray())
    } catch (error) {
      if (isNotFound(error)) return undefined
      throw this.failure('read', key, error)
    }
  }

  async getFrom(key: string, start: number): Promise<Buffer | undefined> {
    if (start <= 0) return this.get(key)
    try {
      const out = await this.client.send(new this.sdk.GetObjectCommand({Bucket: this.bucket, Key: this.fullKey(key), Range: `bytes=${start}-`}))
      return Buffer.from(await out.Body!.transformToByteArray())
    } catch (error) {
      if (isNotFound(error)) return undefined
      // Asking from the end (or past it) of an existing object: nothing new yet.
      if (status(error) === 416) return (await this.head(key)) ? Buffer.alloc(0) : undefined
      throw this.failure('read', key, error)
    }
  }

  async getStream(key: string): Promise<Readable | undefined> {
    try {
      const out = await this.client.send(new this.sdk.GetObjectCommand({Bucket: this.bucket, Key: this.fullKey(key)}))
      return out.Body as Readable
    } catch (error) {
      if (isNotFound(error)) return undefined
      throw this.failure('read', key, error)
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new this.sdk.HeadObjectCommand({Bucket: this.bucket, Key: this.fullKey(key)}))
      return {key, size: out.ContentLength ?? 0, modified: out.LastModified ?? new Date(0), ...(out.ETag ? {etag: out.ETag} : {})}
    } catch (error) {
      if (isNotFound(error)) return undefined
      throw this.failure('inspect', key, error)
    }
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<void> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body
    try {
      const command = new this.sdk.PutObjectCommand({Bucket: this.bucket, Key: this.fullKey(key), Body: bytes, ContentLength: bytes.length})
      const sha256 = options.sha256
      if (sha256) {
        // SigV4 takes a payload hash already in x-amz-content-sha256 rather than hashing the body again.
        command.middlewareStack.add(
          (next) => async (args) => {
            const request = args.request as {headers?: Record<string, string>}
            if (request.headers) request.headers['x-amz-content-sha256'] = sha256
            return next(args)
          },
          {step: 'build', name: 'rfmKnownPayloadHash'},
        )
      }
      await this.client.send(command)
    } catch (error) {
      throw this.failure('write', key, error)
    }
  }

  /**
   * PutObject with If-None-Match: * (S3 answers 412 when the key exists, since August 2024).
   * Servers that ignore the header (s3rver, some S3-compatible stores) are covered by a HEAD first
   * and a read-back after: a record that reads back different from ours belongs to another writer.
   * A 412 whose object equals our bytes is our own write, retried after a lost answer.
   */
  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body)
    if (await this.head(key)) return false
    try {
      await this.client.send(new this.sdk.PutObjectCommand({Bucket: this.bucket, Key: this.fullKey(key), Body: bytes, ContentLength: bytes.length, IfNoneMatch: '*'}))
    } catch (error) {
      if (status(error) !== 412 && (error as {name?: string}).name !== 'PreconditionFailed') throw this.failure('write', key, error)
    }
    const stored = await this.get(key)
    return stored !== undefined && stored.equals(bytes)
  }

  /** Read-modify-write: S3 objects cannot grow in place. Single writer per key (see the header). */
  /** Appends run one at a time per key in this process: each is a read-modify-write. */
  private appending = new Map<string, Promise<void>>()

  async append(key: string, body: Uint8Array | string): Promise<void> {
    const previous = this.appending.get(key) ?? Promise.resolve()
    const next = previous.then(async () => {
      const before = await this.get(key)
      const added = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body)
      await this.put(key, before ? Buffer.concat([before, added]) : added)
    })
    const settled = next.catch(() => {})
    this.appending.set(key, settled)
    void settled.then(() => {
      if (this.appending.get(key) === settled) this.appending.delete(key)
    })
    return next
  }

  async putFile(key: string, file: string, options: PutFileOptions = {}): Promise<void> {
    const {size} = await fs.stat(file)
    try {
      if (size <= this.multipartThreshold) {
        // A buffer body (not a stream) lets the SDK resend it on a retry.
        const bytes = await fs.readFile(file)
        await this.client.send(new this.sdk.PutObjectCommand({Bucket: this.bucket, Key: this.fullKey(key), Body: bytes, ContentLength: bytes.length}))
        options.onProgress?.(bytes.length)
        return
      }
      const {Upload} = await import('@aws-sdk/lib-storage')
      // Parts are buffered by lib-storage, so each one is retried on its own; S3 allows 10,000 parts.
      const partSize = Math.max(this.partSize, Math.ceil(size / 9000))
      const upload = new Upload({
        client: this.client,
        params: {Bucket: this.bucket, Key: this.fullKey(key), Body: createReadStream(file, {highWaterMark: MiB}), ContentLength: size},
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
          await this.client.send(new this.sdk.AbortMultipartUploadCommand({Bucket: this.bucket, Key: this.fullKey(key), UploadId: uploadId})).catch(() => undefined)
        }
        throw error
      }
      if (size > sent) options.onProgress?.(size - sent)
    } catch (error) {
      throw this.failure('upload', key, error)
    }
  }

  /**
   * One read of the file feeds both the sha256 and the upload. Above the multipart threshold, parts
   * (sized so a file stays under S3's 10,000 parts) go up 4 at a time, so memory is about 5 parts
   * whatever the file size; a part that fails is retried on its own with backoff (the upload resumes
   * with the parts S3 already has) until the outage budget is spent, then the upload is aborted.
   */
  async uploadFile(key: string, file: string, options: PutFileOptions = {}): Promise<Transferred> {
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
      if (size <= this.multipartThreshold) {
        const bytes = await readPart(0, size)
        await checkStable(file, before, size)
        const sha256 = hash.update(bytes).digest('hex')
        await this.put(key, bytes, {sha256})
        options.onProgress?.(size)
        return {size, sha256}
      }
      const partSize = Math.max(this.partSize, Math.ceil(size / 9000))
      const Key = this.fullKey(key)
      const created = await this.client
        .send(new this.sdk.CreateMultipartUploadCommand({Bucket: this.bucket, Key}))
        .catch((error) => {
          throw this.failure('upload', key, error)
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
            this.client.send(new this.sdk.UploadPartCommand({Bucket: this.bucket, Key, UploadId, PartNumber, Body: body, ContentLength: body.length})),
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
        await withOutageRetry(policy, 'complete', key, () =>
          this.client.send(new this.sdk.CompleteMultipartUploadCommand({Bucket: this.bucket, Key, UploadId, MultipartUpload: {Parts: parts}})),
        )
        return {size, sha256: hash.digest('hex')}
      } catch (error) {
        await Promise.allSettled(inFlight)
        await this.client.send(new this.sdk.AbortMultipartUploadCommand({Bucket: this.bucket, Key, UploadId})).catch(() => undefined)
        throw error instanceof UnstableFileError ? error : this.failure('upload', key, error)
      }
    } finally {
      await handle.close()
    }
  }

  /**
   * Large objects come down as parallel ranged GETs (4 in flight, each pinned to the object's ETag
   * so a replaced object fails rather than mixing), hashed and written in order; small ones stream.
   */
  async downloadFile(key: string, file: string, options: PutFileOptions = {}): Promise<Transferred | undefined> {
    let info: {size: number; etag?: string}
    try {
      const out = await this.client.send(new this.sdk.HeadObjectCommand({Bucket: this.bucket, Key: this.fullKey(key)}))
      info = {size: out.ContentLength ?? 0, etag: out.ETag}
    } catch (error) {
      if (isNotFound(error)) return undefined
      throw this.failure('inspect', key, error)
    }
    if (info.size <= this.multipartThreshold || !this.rangedDownloads) {
      const stream = await this.getStream(key)
      return stream ? streamToFile(stream, file, options) : undefined
    }
    await fs.mkdir(path.dirname(file), {recursive: true})
    const tmp = `${file}.rfm-part-${process.pid}`
    const handle = await fs.open(tmp, 'w')
    const hash = createHash('sha256')
    const policy = outagePolicyFromEnv()
    const fetchRange = (start: number, end: number): Promise<Buffer> =>
      withOutageRetry(policy, 'read', key, async () => {
        const out = await this.client.send(
          new this.sdk.GetObjectCommand({Bucket: this.bucket, Key: this.fullKey(key), Range: `bytes=${start}-${end}`, ...(info.etag ? {IfMatch: info.etag} : {})}),
        )
        return Buffer.from(await out.Body!.transformToByteArray())
      })
    try {
      const partSize = Math.max(this.partSize, Math.ceil(info.size / 9000))
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
      throw this.failure('download', key, error)
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new this.sdk.DeleteObjectCommand({Bucket: this.bucket, Key: this.fullKey(key)}))
    } catch (error) {
      if (isNotFound(error)) return
      throw this.failure('delete', key, error)
    }
  }

  async list(prefix: string, options: {delimited?: boolean} = {}): Promise<ListResult> {
    const result: ListResult = {objects: [], prefixes: []}
    const full = this.prefix + prefix
    let token: string | undefined
    try {
      do {
        const page = await this.client.send(
          new this.sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: full,
            MaxKeys: this.pageSize,
            ...(options.delimited ? {Delimiter: '/'} : {}),
            ...(token ? {ContinuationToken: token} : {}),
          }),
        )
        for (const object of page.Contents ?? []) {
          if (!object.Key) continue
          result.objects.push({key: object.Key.slice(this.prefix.length), size: object.Size ?? 0, modified: object.LastModified ?? new Date(0), ...(object.ETag ? {etag: object.ETag} : {})})
        }
        for (const common of page.CommonPrefixes ?? []) if (common.Prefix) result.prefixes.push(common.Prefix.slice(this.prefix.length))
        token = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (token)
    } catch (error) {
      throw this.failure('list', prefix || '(root)', error)
    }
    result.objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    result.prefixes.sort()
    return result
  }

  private failure(action: string, key: string, error: unknown): BackendError {
    const e = error as {name?: string; message?: string; code?: string}
    const where = `s3://${this.bucket}/${this.prefix}${key}`
    const credentials = e.name === 'CredentialsProviderError' || e.name === 'InvalidAccessKeyId' || e.name === 'SignatureDoesNotMatch'
    return new BackendError(`Could not ${action} ${where}: ${e.message || e.name || String(error)}`, {
      cause: error,
      hint: credentials
        ? 'Check AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or an instance role) and the profile\'s region/endpoint.'
        : e.name === 'NoSuchBucket'
          ? `Create the bucket first (rfm infra up creates it) or fix the store URL: rfm config set store s3://BUCKET/PREFIX`
          : 'The request was retried with backoff; check the endpoint and network, then run the command again (finished work is kept).',
      details: {retryable: isRetryable(error), ...(e.name ? {awsError: e.name} : {}), ...(status(error) ? {status: status(error)} : {})},
    })
  }
}

function status(error: unknown): number | undefined {
  return (error as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode
}

function isNotFound(error: unknown): boolean {
  const name = (error as {name?: string}).name
  return name === 'NoSuchKey' || name === 'NotFound' || (status(error) === 404 && name !== 'NoSuchBucket')
}
