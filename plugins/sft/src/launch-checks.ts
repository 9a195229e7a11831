/**
 * Launch checks of the sft kind's data: a local VQA dataset is opened and its first sample decoded
 * at launch, so a missing column or a broken shard exits 2 before any attempt runs.
 */
import {existsSync} from 'node:fs'
import * as path from 'node:path'

import type {PluginApi} from '@rfm/plugin-api'

import type {SftConfig} from './config'
import {openVqaDataset} from './dataset/open'

const NOT_A_PATH = /^(ds:|[a-z][a-z0-9+.-]*:\/\/)/i

export async function checkSftData(api: PluginApi, c: SftConfig, baseDir: string): Promise<void> {
  for (const field of ['dataset_path', 'eval_dataset_path'] as const) {
    const given = c[field]
    if (!given || NOT_A_PATH.test(given)) continue
    const dir = path.resolve(baseDir, given)
    // a missing path is reported by rfm's own launch check (with its hint)
    if (!existsSync(dir)) continue
    const formats = await api.loadFormats()
    try {
      const dataset = await openVqaDataset(dir, formats)
      if (dataset.size > 0) dataset.get(0)
    } catch (error) {
      if (error instanceof formats.FormatError) throw error
      throw api.configError(field, (error as Error).message.replace(/\.$/, ''), 'Generate a dataset with rfm sft dataset generate (a datasets save_to_disk folder).')
    }
  }
}
