import {existsSync, mkdtempSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import {Flags} from '@oclif/core'
import {RfmPluginCommand} from '@rfm/plugin-kit'

import type {Prediction} from '../../predict-model'

export default class VlaSensorPredict extends RfmPluginCommand {
  static override summary = 'Predict the 8 × 7 action chunk for an instruction, camera images and an optional sensor window.'
  static override description = 'CHECKPOINT is a run (RUN = final, else latest; RUN@best, RUN@final, RUN@latest, RUN@<step>), pulled and verified like `rfm ckpt pull`, or a checkpoint folder.'
  static override examples = [
    '<%= config.bin %> vla-sensor predict --checkpoint vla-sensor-20261122-0500-ab12@best --instruction "insert the needle into the eye trocar" --images cam0.png cam1.png --sensor window.npy',
  ]
  static override flags = {
    checkpoint: Flags.string({required: true, description: 'RUN[@best|@final|@latest|@<step>] or a checkpoint folder.'}),
    instruction: Flags.string({required: true, description: 'The instruction text.'}),
    images: Flags.string({required: true, multiple: true, description: 'One PNG/JPEG per camera view, in training order.'}),
    sensor: Flags.string({description: 'A sensor window .npy of shape [650, 1026] (sensor_temporal_length × sensor_input_channels); absent = zeros and has_sensor 0.'}),
    profile: Flags.string({description: 'Profile whose store holds the run.'}),
  }

  async run(): Promise<Prediction & {checkpoint: string; dir: string; instruction: string}> {
    const {flags} = await this.parse(VlaSensorPredict)
    const dir = existsSync(flags.checkpoint) ? path.resolve(flags.checkpoint) : await this.pull(flags.checkpoint, flags.profile)
    const {predictFromCheckpoint} = await import('../../predict-model.js')
    const result = await predictFromCheckpoint(this.api, dir, {instruction: flags.instruction, images: flags.images.map((f) => path.resolve(f)), sensor: flags.sensor && path.resolve(flags.sensor)})
    this.log(
      `Action chunk (${result.horizon} × ${result.action_dim}: dx dy dz rx ry rz inject) from ${flags.checkpoint}${result.step === null ? '' : ` (step ${result.step})`}, sensor ${result.sensor_used ? 'used' : result.fusion === 'disabled' ? 'not part of this model' : 'absent (zeros, has_sensor 0)'}:`,
    )
    for (const row of result.actions) this.log('  ' + row.map((v) => v.toFixed(4).padStart(8)).join(' '))
    return {checkpoint: flags.checkpoint, dir, instruction: flags.instruction, ...result}
  }

  /** The run's checkpoint, pulled and verified like `rfm ckpt pull` (the host's store code, in this process). */
  private async pull(ref: string, profile?: string): Promise<string> {
    if (!/^([A-Za-z0-9][A-Za-z0-9._-]*)(?:@(\d+|best|final|latest))?$/.test(ref))
      throw new this.api.errors.UsageError(`--checkpoint "${ref}" is neither a folder nor a run reference.`, {hint: 'Use RUN, RUN@best, RUN@final, RUN@latest, RUN@<step> or a checkpoint folder.'})
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-vla-predict-'))
    // RUN alone: the final checkpoint if the run finished, else its newest (api.checkpoints.pull)
    await this.api.checkpoints.pull(ref, dir, {profile})
    return dir
  }
}
