/**
 * Waits until s3rver has written every object under a prefix to disk. s3rver answers a PUT before
 * its bytes are on disk (see ./early-ack-proxy.ts), so a read right after the last PUT can see an
 * empty or older object; real S3 cannot ("Any read (GET or LIST) initiated after receiving a
 * successful PUT response will return the data written by PUT"). An object is settled when its
 * bytes hash to its ETag: S3 documents the ETag of a single-part, unencrypted or SSE-S3 PUT as the
 * MD5 digest of the object data, and s3rver computes it from the request body, not from the file.
 * Bounded: after `tries` passes it returns and the test's assertions judge what is there, so a real
 * loss (bytes that match their ETag but lack events) is never waited away.
 */
import {createHash} from 'node:crypto'

import type {S3Store} from '../../src/store/s3-store'

export async function s3rverSettled(store: S3Store, prefix: string, tries = 200): Promise<{passes: number}> {
  for (let pass = 1; ; pass++) {
    const {objects} = await store.list(prefix)
    const torn = await Promise.all(
      objects.map(async (object) => {
        const out = await store.client.send(new store.sdk.GetObjectCommand({Bucket: store.bucket, Key: store.fullKey(object.key)}))
        const bytes = Buffer.from(await out.Body!.transformToByteArray())
        return out.ETag !== `"${createHash('md5').update(bytes).digest('hex')}"`
      }),
    )
    if (!torn.includes(true) || pass >= tries) return {passes: pass}
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
