import * as os from 'node:os'
import * as path from 'node:path'

import type {RuntimeContext} from './context'

/** Where pulled datasets are kept, by manifest hash, so attempts on one machine share them. */
function cacheRoot(): string {
  return process.env.RFM_DATA_CACHE ?? path.join(os.tmpdir(), 'rfm-datasets')
}

/**
 * Replaces the `ds:` references in the kind's dataset fields with local copies: pulled from the
 * store once per machine and verified file by file (a file already present is re-hashed, not
 * trusted). Returns the config the trainer sees; the recorded config keeps the references.
 */
export async function materializeDatasets(ctx: RuntimeContext, config: Record<string, unknown>): Promise<Record<string, unknown>> {
  const fields = ctx.kind.datasetFields ?? []
  if (fields.length === 0) return config
  const {isDatasetRef, pullDataset, resolveRef} = await import('../staging/index.js')
  const result = structuredClone(config)
  for (const field of fields) {
    const parts = field.split('.')
    const parent = parts.slice(0, -1).reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), result)
    const key = parts.at(-1) as string
    const value = parent && typeof parent === 'object' ? (parent as Record<string, unknown>)[key] : undefined
    if (typeof value !== 'string' || !isDatasetRef(value)) continue
    const {hash} = await resolveRef(ctx.runs.store, value)
    const dir = path.join(cacheRoot(), hash)
    const pulled = await pullDataset(ctx.runs.store, value, dir)
    ctx.log(`dataset ${field}: ${value} → ${dir} (${pulled.files} files verified, ${pulled.downloadedFiles} downloaded)`)
    await ctx.event('dataset_pulled', {field, ref: value, files: pulled.files, downloadedBytes: pulled.downloadedBytes})
    ;(parent as Record<string, unknown>)[key] = dir
  }
  return result
}
