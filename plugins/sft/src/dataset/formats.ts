/**
 * The part of rfm's formats module (`api.loadFormats()`, the contract's FormatsCore) that dataset
 * generation uses. A Pick of the contract, so tests and worker threads can hand the library the
 * module itself.
 */
import type {FormatsCore} from '@rfm/plugin-api'

export type {NdArray, NpyDtype, RgbImage} from '@rfm/plugin-api'

export type Formats = Pick<FormatsCore, 'readNpz' | 'writeNpz' | 'toFloat32' | 'decodeImage' | 'encodePng' | 'resizeImage' | 'imageToFloat' | 'readHfDataset' | 'writeHfDataset'>
