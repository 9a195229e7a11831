import {readFileSync} from 'node:fs'
import * as path from 'node:path'

import {Flags} from '@oclif/core'
import {RfmPluginCommand} from '@rfm/plugin-kit'

import {configError, usageError} from '../../../dataset/errors'
import type {GenerateResult} from '../../../dataset/generate'

export default class SftDatasetGenerate extends RfmPluginCommand {
  static override summary = 'Turn robot trajectories (.npz folders or synthetic:<name>) into preference / progress / similarity VQA samples, written as a Hugging Face dataset.'
  static override description = [
    'Writes num_epochs × (number of trajectories) samples, one Arrow shard per --save-batch-size rows, with the columns',
    'sample_type, task, question, answer, frames_a, frames_b (lists of PNG images), progress_a, progress_b, preferred, source, index.',
    'Keys for --set: data.train_datasets (list of sources: a folder of .npz, one .npz, synthetic:<name>[:<count>]),',
    'data.sample_type_ratio ([preference, progress, similarity]), data.max_frames, data.image_size, data.synthetic_count,',
    'data.min_progress_gap, data.missing_progress (error | linear).',
    "The seed script's spellings work too: --num_epochs, --output_path, --eval_mode, --save_batch_size, --num_workers, --batch_size, --config_overrides.",
  ].join('\n')
  static override examples = [
    '<%= config.bin %> sft dataset generate --num-epochs 1 --output ./vqa/train --set data.train_datasets=[synthetic:train:512]',
    '<%= config.bin %> sft dataset generate --num-epochs 0.5 --output ./vqa/val --eval-mode --seed 123 --set data.train_datasets=[./trajectories/val]',
    '<%= config.bin %> sft dataset generate --num-epochs 1 --output ./vqa/custom --set data.sample_type_ratio=[0.7,0.3,0.0]',
  ]
  static override flags = {
    'num-epochs': Flags.string({required: true, aliases: ['num_epochs'], description: 'Passes over the trajectories: samples = num_epochs × dataset size (fractions allowed).'}),
    output: Flags.string({char: 'o', required: true, aliases: ['output_path', 'output-path'], description: 'Output folder of the dataset (written elsewhere, then renamed into place).'}),
    'eval-mode': Flags.boolean({default: false, aliases: ['eval_mode'], description: 'No augmentations (for evaluation sets).'}),
    seed: Flags.string({description: 'Random seed (default 42).'}),
    'save-batch-size': Flags.string({aliases: ['save_batch_size'], description: 'Rows per Arrow shard (default 50000).'}),
    'num-workers': Flags.string({aliases: ['num_workers'], description: 'Worker threads rendering samples (default 4; 0 or 1 = this thread). The output does not depend on it.'}),
    'batch-size': Flags.string({aliases: ['batch_size'], description: 'Samples per unit of work handed to a worker (default 100).'}),
    set: Flags.string({multiple: true, aliases: ['config_overrides', 'config-overrides'], description: 'Config override data.<key>=<value> (YAML value), e.g. data.sample_type_ratio=[0.7,0.3,0.0].'}),
    config: Flags.string({char: 'c', helpValue: 'FILE', description: 'YAML file whose `data:` mapping sets data.* keys (--set wins).'}),
    overwrite: Flags.boolean({default: false, description: 'Replace an existing dataset at --output.'}),
  }

  async run(): Promise<GenerateResult> {
    const {flags} = await this.parse(SftDatasetGenerate)
    const numEpochs = Number(flags['num-epochs'])
    if (flags['num-epochs'].trim() === '' || !Number.isFinite(numEpochs) || numEpochs <= 0)
      throw usageError(`--num-epochs must be a number > 0 (got '${flags['num-epochs']}').`, 'Fractions are fine: --num-epochs 0.1.')
    const {parseOverrides, resolveDataConfig} = await import('../../../dataset/config.js')
    const data: Record<string, unknown> = {}
    if (flags.config) {
      const file = path.resolve(flags.config)
      let parsed: unknown
      try {
        const {parse} = await import('yaml')
        parsed = parse(readFileSync(file, 'utf8'))
      } catch (error) {
        throw configError(`--config ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message.split('\n')[0]}.`)
      }
      const section = (parsed as {data?: unknown} | null)?.data
      if (section !== undefined && (typeof section !== 'object' || section === null || Array.isArray(section))) throw configError(`--config ${file}: data must be a mapping of data.* keys.`)
      const fromFile = {...((section as Record<string, unknown>) ?? {})}
      // sources in a config file are relative to its folder; those of --set to the working directory
      const list = typeof fromFile.train_datasets === 'string' ? [fromFile.train_datasets] : fromFile.train_datasets
      if (Array.isArray(list)) fromFile.train_datasets = list.map((s) => (typeof s === 'string' && !s.startsWith('synthetic:') ? path.resolve(path.dirname(file), s) : s))
      Object.assign(data, fromFile)
    }
    Object.assign(data, await parseOverrides(flags.set ?? []))
    resolveDataConfig(data) // bad keys fail before anything loads
    const options = {
      output: flags.output,
      numEpochs,
      evalMode: flags['eval-mode'],
      seed: this.integerFlag('seed', flags.seed, 42, 0),
      saveBatchSize: this.integerFlag('save-batch-size', flags['save-batch-size'], 50_000, 1),
      numWorkers: this.integerFlag('num-workers', flags['num-workers'], 4, 0),
      batchSize: this.integerFlag('batch-size', flags['batch-size'], 100, 1),
      data,
      overwrite: flags.overwrite,
      baseDir: process.cwd(),
    }
    const formats = await this.api.loadFormats()
    // worker threads load the host's formats module themselves: its file, from the host's exports
    const file = this.hostModuleFile('rfm/formats')
    const {generateVqaDataset} = await import('../../../dataset/generate.js')
    const result = await generateVqaDataset({...options, formatsModule: file}, formats, this.progressReporter('samples'))
    const counts = Object.entries(result.counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')
    this.log(
      `Wrote ${result.num_samples} samples (${counts}) from ${result.dataset_size} trajector${result.dataset_size === 1 ? 'y' : 'ies'} in ${result.shards} shard${result.shards === 1 ? '' : 's'} to ${result.output}`,
    )
    return result
  }
}
