/**
 * The rm-eval plugin's modules for its tests, imported from its compiled dist with the types of its
 * .d.ts (`npm run compile` builds the plugin before its tests), so a changed signature fails the build.
 * The host's API object comes from the kit's testing entry, like the other host helpers.
 */
import {api as pluginApi} from '@rfm/plugin-kit/testing'
import kinds from '../dist/kinds'
import * as data from '../dist/preference-data'
import * as records from '../dist/records'
import * as train from '../dist/train'

export type {EvalRow} from '../dist/evaluate'

/** `rfm rm-eval train`'s checkpoint folders: the host's api.checkpoints.local(dir) */
const local = {
  LocalCheckpoints: function (dir: string) {
    return pluginApi.checkpoints.local(dir)
  } as unknown as new (dir: string) => ReturnType<typeof pluginApi.checkpoints.local>,
}

export const rmEval = {api: pluginApi, train, data, records, kinds, local}
