import {existsSync, readFileSync} from 'node:fs'
import * as path from 'node:path'

import {Flags} from '@oclif/core'
import {configFlags, RfmPluginCommand} from '@rfm/plugin-kit'

import {readVlaConfig} from '../../read-config'

export default class VlaSensorCache extends RfmPluginCommand {
  static override summary = "Build the VL feature cache once: frozen-encoder features of every image and instruction of the config's sessions."
  static override description =
    'Writes vl_features.npy + cache.json into --out (default: vl_cache/<key> next to the config). Point `vl_cache` at it: ' +
    '`rfm cloud launch vla-sensor` stages it into the store content-addressed, so every run that shares it pulls the same verified copy and an unchanged cache uploads nothing.'
  static override examples = ['<%= config.bin %> vla-sensor cache -c examples/vla-sensor/train.yaml']
  static override flags = {
    config: Flags.string({char: 'c', required: true, helpValue: 'FILE', description: 'A vla-sensor config (YAML): its data and vl_encoder keys define the cache.'}),
    set: configFlags.set,
    out: Flags.string({description: 'Cache folder (default: vl_cache/<key> next to the config).'}),
    force: Flags.boolean({description: 'Rebuild even when the folder already holds this cache.'}),
  }

  async run(): Promise<{cache_dir: string; key: string; built: boolean; samples: number; sensor_samples: number; views: number; feature_dim: number}> {
    const {flags} = await this.parse(VlaSensorCache)
    const {config, baseDir} = await readVlaConfig(this, {file: flags.config, sets: flags.set})
    const api = this.api
    const trainer = await api.loadTrainer()
    const formats = await api.loadFormats()
    const {encoderSpec, loadDataset} = await import('../../train.js')
    const {cacheKey} = await import('../../vl-encoder.js')
    const {buildFeatures, INDEX_FILE, writeCache} = await import('../../vl-cache.js')
    const data = await loadDataset(api, trainer, config)
    const spec = encoderSpec(config)
    const key = cacheKey(data, spec)
    const dir = path.resolve(flags.out ?? path.join(baseDir, 'vl_cache', key))
    const sensorSamples = data.samples.filter((s) => s.hasSensor).length
    const result = {cache_dir: dir, key, samples: data.samples.length, sensor_samples: sensorSamples, views: data.views, feature_dim: spec.featureDim}
    const index = path.join(dir, INDEX_FILE)
    if (!flags.force && existsSync(index) && (JSON.parse(readFileSync(index, 'utf8')) as {key?: string}).key === key) {
      this.log(`VL cache ${dir} is up to date (key ${key}); nothing to build.`)
      return {...result, built: false}
    }
    this.log(`Encoding ${data.samples.length} samples × ${data.views} views + instruction (${sensorSamples} samples with sensor) ...`)
    const features = buildFeatures(trainer.Rng, data, spec, (done) => this.log(`  ${done} / ${data.samples.length}`))
    writeCache(formats, dir, data, spec, features)
    this.log(`VL cache written to ${dir} (key ${key}). Set \`vl_cache: ${path.relative(baseDir, dir) || '.'}\` in the config to train from it.`)
    return {...result, built: true}
  }
}
