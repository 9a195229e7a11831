/**
 * The object store is rfm's database: run records, events, logs, datasets and checkpoints all live
 * under one URL (`file:///…` on one machine, `s3://bucket/prefix` on AWS). Keys are relative,
 * '/'-separated, and never contain '..' or empty segments.
 */
export interface ObjectInfo {
  key: string
  size: number
  modified: Date
  /** S3's ETag (changes whenever the object is written with other bytes); absent on the file store */
  etag?: string
}

export interface ListResult {
  /** objects directly under the prefix (or all below it when not delimited) */
  objects: ObjectInfo[]
  /** with `delimited`, the immediate "folders" below the prefix, each ending in '/' */
  prefixes: string[]
}

export interface ObjectStore {
  /** The URL this store was opened from; recorded in runs so jobs open the same store. */
  readonly url: string
  /** Whole object, or undefined when it does not exist. */
  get(key: string): Promise<Buffer | undefined>
  /** Bytes from `start` to the end (for following logs); undefined when the object does not exist. */
  getFrom(key: string, start: number): Promise<Buffer | undefined>
  head(key: string): Promise<ObjectInfo | undefined>
  /** Replaces the object atomically and durably: readers see the old or the new bytes, never a mix. */
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<void>
  /**
   * Creates the object only if no object has the key; false when one exists (then nothing is
   * written). File store: link(2) of a temp file, atomic. S3: PutObject with If-None-Match: *.
   */
  putIfAbsent?(key: string, body: Uint8Array | string): Promise<boolean>
  /** Appends to an object (creating it), for logs and event streams with a single writer per key. */
  append(key: string, body: Uint8Array | string): Promise<void>
  delete(key: string): Promise<void>
  list(prefix: string, options?: {delimited?: boolean}): Promise<ListResult>
  /**
   * Uploads a local file without holding it in memory (multipart on S3). Optional so that small
   * stores (test doubles) stay valid; callers use `putFile`/`getStream` from ./transfer, which fall
   * back to get/put.
   */
  putFile?(key: string, file: string, options?: PutFileOptions): Promise<void>
  /** The object as a stream, or undefined when it does not exist. */
  getStream?(key: string): Promise<NodeJS.ReadableStream | undefined>
  /**
   * Uploads a local file in one streaming pass that also hashes it (sha256), with bounded memory
   * whatever the size. Fails with UnstableFileError when the file changed while it was read (size or
   * mtime differ before and after, or fewer bytes came than its size): the caller tries again later.
   */
  uploadFile?(key: string, file: string, options?: PutFileOptions): Promise<Transferred>
  /**
   * Streams a local file into the store in one read that also hashes it, under the key `keyOf`
   * derives from its sha256 (content-addressed staging: the key is known only at the end). File
   * store only: S3 needs the key before the first byte of a multipart upload.
   */
  ingestFile?(file: string, keyOf: (sha256: string) => string, options?: PutFileOptions & PutOptions): Promise<Transferred>
  /** Downloads an object into `file` (a temp name renamed into place), hashing while streaming; undefined when missing. */
  downloadFile?(key: string, file: string, options?: PutFileOptions): Promise<Transferred | undefined>
  /**
   * true when concurrent `append`s from several processes never lose each other's bytes (O_APPEND on
   * a local disk). S3 has no append (rfm's is read-modify-write), so writers there keep their own segments.
   */
  readonly atomicAppend?: boolean
}

export interface Transferred {
  size: number
  sha256: string
}

export interface PutOptions {
  /**
   * false: the caller makes the write durable later or can detect and repair its loss (staged
   * objects, verified before their manifest is written): the file store skips its fsync. Default true.
   */
  durable?: boolean
  /**
   * the body's sha256 (hex) when the caller computed it already: S3 signs the request with it
   * instead of hashing the body again, and AWS S3 rejects a body that does not match it
   */
  sha256?: string
}

export interface PutFileOptions {
  /** called with the number of bytes sent since the last call */
  onProgress?(bytes: number): void
}
