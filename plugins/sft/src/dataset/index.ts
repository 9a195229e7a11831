/**
 * Robot-trajectory VQA datasets (pipeline 000): trajectories from .npz files or the synthetic
 * generator → preference / progress / similarity samples → a Hugging Face `save_to_disk` dataset.
 */
export {DATA_DEFAULTS, parseOverrides, resolveDataConfig, SAMPLE_TYPES} from './config'
export type {DataConfig, SampleType} from './config'
export {DatasetError} from './errors'
export type {Formats} from './formats'
export {generateVqaDataset, VQA_FEATURES} from './generate'
export type {GenerateOptions, GenerateProgress, GenerateResult} from './generate'
export {FRAME_KEYS, PROGRESS_KEYS, readNpzTrajectory, TASK_KEYS, writeNpzTrajectory} from './npz'
export {vqaSamples} from './memory'
export type {InMemoryOptions} from './memory'
export {openVqaDataset, summarizeVqaDataset} from './open'
export type {VqaDataset, VqaSample, VqaSummary} from './open'
export {clipFrames, planContext, planSample, questionFor} from './samples'
export type {SamplePlan, VqaRow} from './samples'
export {buildCatalogue, TrajectoryLoader} from './sources'
export {planSynthetic, renderSynthetic, SYNTHETIC_COLORS, syntheticTasks, syntheticTrajectory} from './synthetic'
export type {Trajectory, TrajectoryInfo} from './trajectory'
