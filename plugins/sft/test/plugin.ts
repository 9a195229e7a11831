/**
 * The sft plugin's training modules for its tests, imported from its compiled dist with the types of
 * its .d.ts (`npm run compile` builds the plugin before its tests), so a changed signature fails the build.
 */
import {api as pluginApi} from '@rfm/plugin-kit/testing'
import type {SftConfig} from '../dist/config'
import * as dataset from '../dist/dataset'
import kinds from '../dist/kinds'
import * as encode from '../dist/train/encode'
import * as evaluate from '../dist/train/evaluate'
import * as robot from '../dist/train/robot'
import * as run from '../dist/train/run'
import * as sources from '../dist/train/sources'
import * as text from '../dist/train/text'

const kind = kinds(pluginApi)[0]

export const sft = {
  api: pluginApi,
  kind,
  /** the kind's schema with defaults: what the runtime hands the trainer (a kind's schema is untyped in the contract) */
  parse: (config: Record<string, unknown>) => kind.schema.parse(config) as SftConfig,
  run,
  text,
  robot,
  evaluate,
  dataset,
  sources,
  robotSource: robot.robotSource,
  encode,
}
