/**
 * The grpo plugin's modules for its tests, imported from its compiled dist with the types of its
 * .d.ts (`npm run compile` builds the plugin before its tests), so a changed signature fails the build.
 */
import * as config from '../dist/config'
import * as data from '../dist/data'
import * as loss from '../dist/grpo-loss'
import * as rewards from '../dist/rewards'
import * as train from '../dist/train'
import * as warmup from '../dist/warmup'

export type {RewardResult, RewardSample, Scored} from '../dist/rewards'
export type {LossOptions, LossRow, LossStats} from '../dist/grpo-loss'
export type {VqaRow} from '../dist/data'

export const grpo = {rewards}
export const grpoLoss = loss
export const grpoTrain = {...train, ...warmup}
export const grpoData = {...data, ...config}
