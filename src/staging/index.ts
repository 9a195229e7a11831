/** Dataset staging: content-addressed upload, verified download, name index and garbage collection. */
export {stageTree, type StageOptions, type StageResult, type NameEntry} from './stage'
export {pullDataset, type PullOptions, type PullResult} from './pull'
export {collectGarbage, listManifestHashes, listNameEntries, readManifest, removeDataset, resolveRef, viewOf, type DatasetView, type GcResult, type RemoveResult} from './catalog'
export {stageConfigPaths, type StagedField} from './config-paths'
export {formatRef, parseRef, isDatasetRef} from './layout'
export {progressMode, formatBytes} from './progress'
