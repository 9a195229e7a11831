/**
 * The runtime's side of a staged workdir (src/jobs/workdir.ts): a config whose `workdir` is a `ds:`
 * reference gets the folder pulled (every file verified) into $RFM_WORKDIR — in the images their
 * WORKDIR, owned by the job's user — and the trainer runs there, with checkpoints.dir relative to it.
 */
import * as os from 'node:os'
import * as path from 'node:path'

import type {RuntimeContext} from './context'
import {RUNTIME_ENV} from './protocol'

export async function materializeWorkdir(ctx: RuntimeContext, config: Record<string, unknown>): Promise<Record<string, unknown>> {
  const ref = config.workdir
  if (typeof ref !== 'string' || !ref.startsWith('ds:')) return config
  const {pullDataset} = await import('../staging/pull.js')
  const dir = process.env[RUNTIME_ENV.workdir] ?? path.join(os.tmpdir(), 'rfm-work', `${ctx.run.id}-${ctx.attempt}`)
  const pulled = await pullDataset(ctx.runs.store, ref, dir)
  ctx.log(`workdir: ${ref} → ${dir} (${pulled.files} files verified, ${pulled.downloadedFiles} downloaded)`)
  await ctx.event('workdir_pulled', {ref, files: pulled.files, downloadedBytes: pulled.downloadedBytes})
  return {...config, workdir: dir}
}
