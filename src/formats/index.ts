/**
 * Data formats the trainers read and write without Python: numpy .npy/.npz, PNG/JPEG images,
 * Hugging Face `save_to_disk` datasets, JSON lines. Plugins reach it through `api.loadFormats()`,
 * so none of it loads at CLI start-up.
 */
export {FormatError} from './errors'
export {encodeNpy, parseNpy, toFloat32} from './npy'
export type {NdArray, NdData, NpyDtype} from './npy'
export {readNpz, writeNpz} from './npz'
export {decodeImage, encodePng, fitPixels, floatToImage, imageToFloat, resizeImage} from './image'
export type {RgbImage} from './image'
export {readHfDataset, writeHfDataset, writeHfDatasetDict} from './hf-dataset'
export type {HfDataset, HfFeature, HfFeatures} from './hf-dataset'
export {readJsonl} from './jsonl'
export {atomicWriteFile} from './atomic'
/** Path safety for readers: a path taken from a record must stay inside the dataset folder. */
export {resolveInside, PathEscapeError} from '../paths'
