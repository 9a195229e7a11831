import * as os from 'node:os'
import * as path from 'node:path'

import type {RuntimeContext} from './context'

/** Where pulled datasets are kept, by manifest hash, so attempts on one machine share them. */
function cacheRoot(): string {
  return process.env.RFM_DATA_CACHE ?? path.join(os.tmpdir(), 'rfm-datasets')
}

/** Each pulled copy's folder → the dataset as the user named it, for messages. */
const pulledCopies = new Map<string, string>()

/** The dataset as the user knows it: its reference, and the path it was staged from at launch. */
export function datasetLabel(ref: string, stagedFrom?: string): string {
  return stagedFrom === undefined ? `dataset ${ref}` : `dataset ${ref} (staged from ${stagedFrom})`
}

/**
 * A message that names a file of a pulled copy ($RFM_DATA_CACHE/<hash>/train.jsonl:3) names it as
 * the user knows it instead ("train.jsonl:3 of dataset ds:pairs@… (staged from ./data)"): the cache
 * path means nothing to them.
 */
export function nameDatasetsIn(message: string, copies: ReadonlyMap<string, string> = pulledCopies): string {
  let result = message
  for (const [dir, label] of copies) {
    // NUL marks where a path was cut out
    result = result
      .split(`${dir}${path.sep}`)
      .join('\u0000')
      // eslint-disable-next-line no-control-regex
      .replace(/\u0000(\S*?)(?=:\s|,\s|\s|$)/g, (_, rest: string) => `${rest} of ${label}`)
    result = result.split(dir).join(label)
  }
  return result
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
    pulledCopies.set(dir, datasetLabel(value, ctx.run.source.stagedFrom?.[value]))
    ;(parent as Record<string, unknown>)[key] = dir
  }
  return result
}
