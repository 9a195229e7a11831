/**
 * A multi-GB checkpoint on both stores (issue #21): one file of RFM_BENCH_CKPT_GB GB (default 3,
 * sparse, so the source read costs no disk) committed through the runtime's CheckpointSync in a
 * child process (its peak RSS printed), against a raw streamed write of the same bytes to the same
 * store; and restored (streamed, hashed, verified) against a raw streamed read of the same object.
 * RFM_BENCH_CKPT_STORES=file,s3 picks the stores.
 */
import {execFileSync} from 'node:child_process'
import {closeSync, createReadStream, createWriteStream, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {pipeline} from 'node:stream/promises'

import {CheckpointStore} from '../src/checkpoint/store'
import {FileStore} from '../src/store/file-store'
import {S3Store} from '../src/store/s3-store'
import {fsyncFile, getStream} from '../src/store/transfer'
import type {ObjectStore} from '../src/store/types'
import {startS3rver} from '../test/helpers/s3rver'
import {ratioLine, timeMs} from './_stats'

const ROOT = path.resolve(__dirname, '..', '..')
const RUN = 'command-20990101-000000-beef'

export async function largeCheckpoint(): Promise<void> {
  const gb = Number(process.env.RFM_BENCH_CKPT_GB ?? 3)
  const bytes = Math.round(gb * 1e9)
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'rfm-bench-big-'))
  const folder = path.join(scratch, 'ckpt', 'checkpoint-1')
  mkdirSync(folder, {recursive: true})
  const source = path.join(folder, 'model.safetensors')
  const fd = openSync(source, 'w')
  ftruncateSync(fd, bytes)
  closeSync(fd)
  writeFileSync(path.join(folder, 'trainer_state.json'), '{"global_step": 1}')
  const stores = (process.env.RFM_BENCH_CKPT_STORES ?? 'file,s3').split(',')
  try {
    if (stores.includes('file')) {
      const root = path.join(scratch, 'store')
      await measure('file', new FileStore(root), new FileStore(root).url, {}, bytes, scratch, async (key) => {
        const target = new FileStore(root).pathOf(key)
        mkdirSync(path.dirname(target), {recursive: true})
        await pipeline(createReadStream(source, {highWaterMark: 1 << 20}), createWriteStream(target, {highWaterMark: 1 << 20}))
        await fsyncFile(target)
      })
    }
    if (stores.includes('s3')) {
      const s3 = await startS3rver()
      try {
        const store = await S3Store.open(`s3://${s3.bucket}/bench`, {endpoint: s3.endpoint, credentials: {accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER'}})
        await measure('s3rver', store, `s3://${s3.bucket}/bench`, {...s3.env, RFM_S3_ENDPOINT: s3.endpoint}, bytes, scratch, (key) => store.putFile(key, source))
      } finally {
        await s3.stop()
      }
    }
  } finally {
    rmSync(scratch, {recursive: true, force: true})
  }
}

async function measure(label: string, store: ObjectStore, url: string, env: NodeJS.ProcessEnv, bytes: number, scratch: string, rawWrite: (key: string) => Promise<void>): Promise<void> {
  const raw = await timeMs(() => rawWrite('raw/model.safetensors'))
  let report = {peakRssMiB: 0}
  const commit = await timeMs(() => {
    const out = execFileSync(process.execPath, [path.join(ROOT, 'test', 'fixtures', 'commit-big.js'), url, path.join(scratch, 'ckpt')], {env: {...process.env, ...env}, encoding: 'utf8'})
    report = JSON.parse(out) as {peakRssMiB: number}
  })
  const rawOut = path.join(scratch, 'raw-read.bin')
  const rawRead = await timeMs(async () => {
    await pipeline((await getStream(store, 'raw/model.safetensors'))!, createWriteStream(rawOut, {highWaterMark: 1 << 20}))
    await fsyncFile(rawOut)
  })
  rmSync(rawOut, {force: true})
  await store.delete('raw/model.safetensors')
  const checkpoints = new CheckpointStore(store, RUN)
  const restoredDir = path.join(scratch, 'restored')
  let ok = false
  const restore = await timeMs(async () => {
    ok = await checkpoints.restoreTo((await checkpoints.list())[0], restoredDir)
  })
  rmSync(restoredDir, {recursive: true, force: true})
  await checkpoints.delete(1)
  const gb = (bytes / 1e9).toFixed(1)
  console.log(
    `${label}: ${gb} GB checkpoint file: raw write ${(raw / 1000).toFixed(1)} s, save+commit ${(commit / 1000).toFixed(1)} s, raw read ${(rawRead / 1000).toFixed(1)} s, restore ${(restore / 1000).toFixed(1)} s (verified: ${ok}); runtime peak RSS while committing ${report.peakRssMiB} MiB`,
  )
  console.log(ratioLine(`${label}: save+commit ÷ raw write (${gb} GB)`, commit / raw, '≤ 1.5×'))
  console.log(ratioLine(`${label}: restore ÷ raw read (${gb} GB)`, restore / rawRead, '≤ 1.5×'))
}
