import * as path from 'node:path'

import {Flags} from '@oclif/core'
import {configFlags, RfmPluginCommand} from '@rfm/plugin-kit'

import {readVlaConfig} from '../../read-config'

export default class VlaSensorGenerate extends RfmPluginCommand {
  static override summary = 'Write the synthetic needle-insertion sessions as a sessions directory (meta.json, actions.npy, PNG views, sensor/*.npy).'
  static override examples = ['<%= config.bin %> vla-sensor generate -c examples/vla-sensor/train.yaml --out sessions']
  static override flags = {
    config: Flags.string({char: 'c', required: true, helpValue: 'FILE', description: 'A vla-sensor config: data.generated and the sensor window shape.'}),
    set: configFlags.set,
    out: Flags.string({required: true, description: 'Folder to write (replaced).'}),
  }

  async run(): Promise<{dir: string; sessions: number; sensor_sessions: number; samples: number; window: number[]}> {
    const {flags} = await this.parse(VlaSensorGenerate)
    const {config} = await readVlaConfig(this, {file: flags.config, sets: flags.set})
    if (config.data.source !== 'generated') throw this.api.configError('data.source', 'generate writes the generated task; this config reads a directory', 'Use data.source: generated.')
    const {loadDataset} = await import('../../train.js')
    const {writeSessions} = await import('../../write-sessions.js')
    const data = await loadDataset(this.api, await this.api.loadTrainer(), config)
    const dir = path.resolve(flags.out)
    const written = writeSessions(await this.api.loadFormats(), data, dir)
    this.log(`Wrote ${written.sessions} sessions (${written.sensorSessions} with sensor windows [${data.sensorT}, ${data.sensorC}]), ${written.samples} steps, to ${dir}`)
    return {dir, sessions: written.sessions, sensor_sessions: written.sensorSessions, samples: written.samples, window: [data.sensorT, data.sensorC]}
  }
}
