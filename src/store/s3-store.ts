/**
 * The object store on S3 or any S3-compatible endpoint (MinIO, R2, s3rver). Loaded lazily by
 * openStore: importing the AWS SDK costs hundreds of milliseconds, which `rfm --help` must not pay.
 *
 * - Credentials come from the SDK's default chain (env, shared config/SSO, instance/task roles).
 * - Retries: the SDK's standard strategy (exponential backoff with jitter) on throttling, 5xx and
 *   connection resets, with more attempts than its default; callers that move many files add a
 *   per-file retry on top (src/staging/retry.ts).
 * - `append` rewrites the whole object (S3 has no append) from the bytes this process last wrote
 *   there: correct only with a single writer per key. Logs have one writer each; a run's events,
 *   which many processes write, go to one segment per writer (RunStore.appendEvent).
 */
import type {Readable} from 'node:stream'

import type {S3Client} from '@aws-sdk/client-s3'

import {BackendError, UsageError} from '../errors'
import {checkKey} from './keys'
import {isRetryable} from './retryable'
import {BODY_IDLE_TIMEOUT_MS, readBody, retryBody, watchIdle} from './s3-body'
import {putFileMultipart, uploadFileMultipart} from './s3-multipart'
import {isNotFound, status} from './s3-errors'
import {downloadFileRanged} from './s3-ranged'
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
  /** a GetObject body that sends nothing for this long while being read fails, retryably (default 60 s) */
  bodyIdleTimeoutMs?: number
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
  /** (this and the transfer settings below are read by ./s3-multipart.ts and ./s3-ranged.ts) */
  readonly sdk: typeof import('@aws-sdk/client-s3')
  private readonly pageSize: number
  readonly multipartThreshold: number
  readonly partSize: number
  readonly rangedDownloads: boolean
  readonly bodyIdleTimeoutMs: number

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
    this.bodyIdleTimeoutMs = options.bodyIdleTimeoutMs ?? BODY_IDLE_TIMEOUT_MS
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

  fullKey(key: string): string {
    return this.prefix + checkKey(key)
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await retryBody(async () => {
        const out = await this.client.send(new this.sdk.GetObjectCommand({Bucket: this.bucket, Key: this.fullKey(key)}))
        return readBody(out.Body, this.bodyIdleTimeoutMs)
      })
    } catch (error) {
      if (isNotFound(error)) return undefined
      throw this.failure('read', key, error)
    }
  }

  async getFrom(key: string, start: number): Promise<Buffer | undefined> {
    if (start <= 0) return this.get(key)
    try {
      return await retryBody(async () => {
        const out = await this.client.send(new this.sdk.GetObjectCommand({Bucket: this.bucket, Key: this.fullKey(key), Range: `bytes=${start}-`}))
        return readBody(out.Body, this.bodyIdleTimeoutMs)
      })
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
      // The reader (streamToFile, a pull) fails on a stalled body instead of hanging; its callers retry.
      return watchIdle(out.Body as Readable, this.bodyIdleTimeoutMs)
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
      // An appended object replaced whole: later appends go on from these bytes.
      if (this.appended.has(key)) this.appended.set(key, Buffer.from(bytes))
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

  /**
   * The bytes this store last wrote under each key it appended to. An append PUTs the whole object;
   * with one writer per key that writer's copy is the truth, so the object is read only on the first
   * append in this process. Reading it back every time let a short read erase committed events:
   * s3rver answers a PUT before its bytes are on disk, and under load a writer's segment read back
   * empty (S3 itself returns the new bytes to any read after a successful PUT). A retried append
   * (the outage layer retries one whose answer was lost) now PUTs the same bytes, not the line twice.
   */
  private appended = new Map<string, Buffer>()
  /** Appends run one at a time per key in this process. */
  private appending = new Map<string, Promise<void>>()

  async append(key: string, body: Uint8Array | string): Promise<void> {
    const previous = this.appending.get(key) ?? Promise.resolve()
    const next = previous.then(async () => {
      const before = this.appended.get(key) ?? (await this.get(key)) ?? Buffer.alloc(0)
      const added = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body)
      const after = Buffer.concat([before, added])
      // Remembered only once acknowledged: a failed PUT (maybe applied, maybe not) is retried, by
      // the caller or the outage layer, from the same acknowledged bytes, so the line goes in once.
      await this.put(key, after)
      this.appended.set(key, after)
    })
    const settled = next.catch(() => {})
    this.appending.set(key, settled)
    void settled.then(() => {
      if (this.appending.get(key) === settled) this.appending.delete(key)
    })
    return next
  }

  /** Streams a local file up: one PUT up to the multipart threshold, else a multipart upload (./s3-multipart.ts). */
  async putFile(key: string, file: string, options: PutFileOptions = {}): Promise<void> {
    return putFileMultipart(this, key, file, options)
  }

  /** One read hashes and uploads (parallel parts above the multipart threshold): ./s3-multipart.ts. */
  async uploadFile(key: string, file: string, options: PutFileOptions = {}): Promise<Transferred> {
    return uploadFileMultipart(this, key, file, options)
  }

  /** Downloads into `file`, as parallel ranged GETs for large objects on AWS: ./s3-ranged.ts. */
  async downloadFile(key: string, file: string, options: PutFileOptions = {}): Promise<Transferred | undefined> {
    return downloadFileRanged(this, key, file, options)
  }

  async delete(key: string): Promise<void> {
    this.appended.delete(key)
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

  failure(action: string, key: string, error: unknown): BackendError {
    const e = error as {name?: string; message?: string; code?: string}
    const where = `s3://${this.bucket}/${this.prefix}${key}`
    const credentials = e.name === 'CredentialsProviderError' || e.name === 'InvalidAccessKeyId' || e.name === 'SignatureDoesNotMatch'
    return new BackendError(`Could not ${action} ${where}: ${e.message || e.name || String(error)}`, {
      cause: error,
      hint: credentials
        ? "Check AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or an instance role) and the profile's region/endpoint."
        : e.name === 'NoSuchBucket'
          ? `Create the bucket first (rfm infra up creates it) or fix the store URL: rfm config set store s3://BUCKET/PREFIX`
          : 'The request was retried with backoff; check the endpoint and network, then run the command again (finished work is kept).',
      details: {retryable: isRetryable(error), ...(e.name ? {awsError: e.name} : {}), ...(status(error) ? {status: status(error)} : {})},
    })
  }
}
