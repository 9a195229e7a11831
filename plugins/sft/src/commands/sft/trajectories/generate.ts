import {Flags} from '@oclif/core'
import {RfmPluginCommand} from '@rfm/plugin-kit'

import type {ExportResult} from '../../../dataset/export'

export default class SftTrajectoriesGenerate extends RfmPluginCommand {
  static override summary = 'Write synthetic manipulation trajectories (a gripper carrying a block to a goal corner; some succeed, some stop part way, some fail) as .npz files.'
  static override description =
    'One file per trajectory with keys frames (uint8 [T, H, W, 3]), task (str) and progress (float32 [T] in [0, 1]) — the layout `rfm sft dataset generate` reads. The same --name and index always give the same trajectory (synthetic:<name> in data.train_datasets).'
  static override examples = [
    '<%= config.bin %> sft trajectories generate --count 200 --output ./trajectories/train',
    '<%= config.bin %> sft trajectories generate --count 50 --name val --output ./trajectories/val --compress',
  ]
  static override flags = {
    count: Flags.string({required: true, description: 'Number of trajectories.'}),
    output: Flags.string({char: 'o', required: true, description: 'Output folder (written elsewhere, then renamed into place).'}),
    name: Flags.string({default: 'train', description: 'Name of the synthetic dataset (different names, different trajectories).'}),
    start: Flags.string({description: 'Index of the first trajectory (default 0).'}),
    'image-size': Flags.string({description: 'Frame width and height in pixels (default 32).'}),
    compress: Flags.boolean({default: false, description: 'Deflate the files (numpy.savez_compressed).'}),
    overwrite: Flags.boolean({default: false, description: 'Replace an existing folder at --output.'}),
  }

  async run(): Promise<ExportResult> {
    const {flags} = await this.parse(SftTrajectoriesGenerate)
    const count = this.integerFlag('count', flags.count, 0, 1)
    const imageSize = this.integerFlag('image-size', flags['image-size'], 32, 8)
    const start = this.integerFlag('start', flags.start, 0, 0)
    const formats = await this.api.loadFormats()
    const {writeSyntheticTrajectories} = await import('../../../dataset/export.js')
    const result = await writeSyntheticTrajectories(
      formats,
      {output: flags.output, name: flags.name, count, start, imageSize, compress: flags.compress, overwrite: flags.overwrite},
      this.progressReporter('trajectories'),
    )
    const outcomes = Object.entries(result.outcomes)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')
    this.log(`Wrote ${result.count} trajector${result.count === 1 ? 'y' : 'ies'} (${outcomes}; ${result.tasks} tasks) to ${result.output}`)
    return result
  }
}
