/**
 * The vla-sensor plugin's modules for its tests, imported from its compiled dist with the types of its
 * .d.ts (`npm run compile` builds the plugin before its tests), so a changed signature fails the build.
 */
import {api as pluginApi} from '@rfm/plugin-kit/testing'
import * as config from '../dist/config'
import * as model from '../dist/model'
import * as sessions from '../dist/sessions'
import * as synthetic from '../dist/synthetic'
import * as task from '../dist/task'
import * as train from '../dist/train'
import * as cache from '../dist/vl-cache'
import * as write from '../dist/write-sessions'

export {smallConfig} from './small-config'

export const api = pluginApi
export const vla = {synthetic, sessions, model, task, train, cache, write, config}
