/**
 * Launch checks of the grpo kind's data: a local dataset is read at launch like rm-eval's records,
 * so a bad row exits 2 before any attempt runs, and a single .jsonl whose rows name image files is
 * refused (only the file would be staged, not the images beside it).
 */
import {existsSync, statSync} from 'node:fs'
import * as path from 'node:path'

import type {PluginApi} from '@rfm/plugin-api'

import type {GrpoConfig} from './config'
import {DatasetRowError, loadDatasetRows, resolveDatasetLocation} from './data'

const NOT_A_PATH = /^(ds:|[a-z][a-z0-9+.-]*:\/\/)/i

export async function checkGrpoData(api: PluginApi, c: GrpoConfig, baseDir: string): Promise<void> {
  const given = c.dataset_name
  if (!given || given === 'generated' || NOT_A_PATH.test(given)) return
  const abs = path.resolve(baseDir, given)
  // a missing path is reported by rfm's own launch check (with its hint)
  if (!existsSync(abs)) return
  const formats = await api.loadFormats()
  const single = !statSync(abs).isDirectory() && abs.endsWith('.jsonl')
  if (single && c.image_root === null) {
    for await (const {record} of formats.readJsonl(abs)) {
      const image = (record as {image?: unknown; image_path?: unknown} | null)?.image ?? (record as {image_path?: unknown} | null)?.image_path
      if (typeof image === 'string' && image !== '') {
        throw api.configError(
          'dataset_name',
          `${abs} is a single .jsonl file whose rows name image files (${JSON.stringify(image)}); only the file is staged, not the images beside it`,
          `Give the folder that holds ${path.basename(abs)} and its images: dataset_name: ${path.dirname(given) || '.'}`,
        )
      }
    }
  }
  try {
    const location = resolveDatasetLocation(abs, c.dataset_split)
    await loadDatasetRows(formats, location, c.dataset_split, c, c.builtin.model.image_size)
  } catch (error) {
    if (error instanceof DatasetRowError) throw api.configError('dataset_name', error.message, 'Fix or remove the row; or set skip_invalid: true to skip invalid rows and count them.')
    throw error
  }
}
