import {existsSync} from 'node:fs'
import * as path from 'node:path'

import {Args, Flags} from '@oclif/core'
import {RfmPluginCommand} from '@rfm/plugin-kit'

import {configError} from '../../../dataset/errors'
import type {VqaSummary} from '../../../dataset/open'

export default class SftDatasetShow extends RfmPluginCommand {
  static override summary = 'Show a generated VQA dataset: rows by sample type, and a few samples (question, answer, frame counts, progress).'
  static override examples = ['<%= config.bin %> sft dataset show ./vqa/train', '<%= config.bin %> sft dataset show ./vqa/train --start 100 --limit 5 --json']
  static override args = {dir: Args.string({required: true, description: 'Folder written by `rfm sft dataset generate`.'})}
  static override flags = {
    start: Flags.string({description: 'First row to show (default 0).'}),
    limit: Flags.string({description: 'Rows to show (default 3).'}),
  }

  async run(): Promise<VqaSummary> {
    const {args, flags} = await this.parse(SftDatasetShow)
    const start = this.integerFlag('start', flags.start, 0, 0)
    const limit = this.integerFlag('limit', flags.limit, 3, 0)
    const dir = path.resolve(args.dir)
    if (!existsSync(path.join(dir, 'state.json'))) throw configError(`${dir} is not a saved Hugging Face dataset (no state.json).`, 'Pass the --output folder of `rfm sft dataset generate`.')
    const formats = await this.api.loadFormats()
    const {summarizeVqaDataset} = await import('../../../dataset/open.js')
    let summary: VqaSummary
    try {
      summary = await summarizeVqaDataset(dir, formats, {start, limit})
    } catch (error) {
      throw configError((error as Error).message)
    }
    this.log(
      `${summary.num_rows} rows in ${dir}: ${Object.entries(summary.counts)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}`,
    )
    for (const s of summary.samples) {
      this.log(`\n#${s.index} ${s.sample_type}  (${s.source})`)
      this.log(`  Q: ${s.question}`)
      this.log(`  A: ${s.answer}    frames ${s.frames_a}${s.frames_b ? ` + ${s.frames_b}` : ''}, progress ${s.progress_a.toFixed(2)}${s.progress_b >= 0 ? ` / ${s.progress_b.toFixed(2)}` : ''}`)
    }
    return summary
  }
}
