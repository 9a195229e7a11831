/**
 * The setup of test files that run on both stores: a scratch folder (file:// stores live under it)
 * and an s3rver started before the file's tests; after them s3rver stops and the folder goes.
 * Call it at the top level of a test file; `s3` answers from the first test on.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {after, before} from 'node:test'

import {startS3rver, type S3rverHandle} from './s3rver'

export function scratchAndS3rver(prefix: string): {scratch: string; s3: S3rverHandle} {
  const scratch = mkdtempSync(path.join(os.tmpdir(), prefix))
  let started: S3rverHandle | undefined
  const handle = (): S3rverHandle => {
    if (!started) throw new Error("s3rver starts in the test file's before() hook: use it inside a test")
    return started
  }
  before(async () => {
    started = await startS3rver()
  })
  after(async () => {
    await started?.stop()
    rmSync(scratch, {recursive: true, force: true})
  })
  // read late: the server starts after the test file's top level has run
  const s3: S3rverHandle = {
    get endpoint() {
      return handle().endpoint
    },
    get bucket() {
      return handle().bucket
    },
    get pid() {
      return handle().pid
    },
    get env() {
      return handle().env
    },
    stop: () => handle().stop(),
    kill: () => handle().kill(),
    restart: () => handle().restart(),
  }
  return {scratch, s3}
}
