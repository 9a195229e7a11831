/**
 * A `command` job's working directory, staged at launch for a backend whose jobs run elsewhere
 * (AWS Batch): the folder goes to the store content-addressed, like a dataset (unchanged files
 * upload nothing), and the recorded config names it by its `ds:` reference; the runtime pulls it into
 * the container's WORKDIR (src/runtime/workdir.ts). Left out: `.git/`, the checkpoint folder (the
 * store restores it) and whatever the folder's `.gitignore` and `.rfmignore` exclude.
 */
import {readFile} from 'node:fs/promises'

import ignore from 'ignore'
import * as path from 'node:path'

import {ConfigError} from '../errors'
import type {ObjectStore} from '../store/types'
import type {StagedField} from '../staging/config-paths'
import type {ProgressMode} from '../staging/progress'
import type {TreeFilter} from '../staging/walk'

/** Above this, a launch warns that the workdir is large (it is uploaded, and pulled by every attempt). */
export const WORKDIR_WARN_BYTES = 200 * 1024 * 1024
const IGNORE_FILES = ['.gitignore', '.rfmignore']

/** The workdir of a config, when the kind has one (an absolute path after the kind's prepare()). */
export function localWorkdir(config: Record<string, unknown>): string | undefined {
  const workdir = config.workdir
  return typeof workdir === 'string' && path.isAbsolute(workdir) ? workdir : undefined
}

/** What staging leaves out of a workdir: .git, the checkpoint folder, and the ignore files' patterns. */
export async function workdirFilter(workdir: string, config: Record<string, unknown>): Promise<TreeFilter> {
  const rules = ignore().add(['.git/'])
  for (const file of IGNORE_FILES) {
    const text = await readFile(path.join(workdir, file), 'utf8').catch(() => undefined)
    if (text !== undefined) rules.add(text)
  }
  const checkpoints = (config.checkpoints as {dir?: unknown} | undefined)?.dir
  if (typeof checkpoints === 'string') {
    const rel = path.relative(workdir, path.resolve(workdir, checkpoints)).split(path.sep).join('/')
    if (rel && !rel.startsWith('..')) rules.add(`/${rel}/`)
  }
  return (rel, isDir) => rules.ignores(isDir ? `${rel}/` : rel)
}

/** On a remote backend the trainer writes checkpoints in its container: the folder must be inside the workdir. */
function checkCheckpointsInside(workdir: string, config: Record<string, unknown>): void {
  const dir = (config.checkpoints as {dir?: unknown} | undefined)?.dir
  if (typeof dir !== 'string') return
  const rel = path.relative(workdir, path.resolve(workdir, dir))
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new ConfigError(`Config error at checkpoints.dir: ${dir} is not inside the workdir ${workdir}; the job writes its checkpoints in its container, under the workdir.`, {
      hint: 'Give checkpoints.dir relative to workdir (e.g. out), and have the trainer write there (e.g. --output_dir out).',
      details: {path: 'checkpoints.dir'},
    })
  }
}

export interface WorkdirStaging {
  /** warn above this many bytes (default WORKDIR_WARN_BYTES) */
  warnBytes?: number
  progress?: ProgressMode
  onStaged?(staged: StagedField): void
  onWarning?(message: string): void
}

/** Stages the config's workdir and returns the config to record, with the workdir as a `ds:` reference. */
export async function stageWorkdir(config: Record<string, unknown>, store: ObjectStore, options: WorkdirStaging = {}): Promise<Record<string, unknown>> {
  const workdir = localWorkdir(config)
  if (!workdir) return config
  checkCheckpointsInside(workdir, config)
  const {walkTree} = await import('../staging/walk.js')
  const {stageTree} = await import('../staging/stage.js')
  const {formatBytes} = await import('../staging/progress.js')
  const {nameFromPath} = await import('../staging/layout.js')
  const filter = await workdirFilter(workdir, config)
  const tree = await walkTree(workdir, filter)
  const bytes = tree.files.reduce((sum, f) => sum + f.size, 0)
  if (bytes > (options.warnBytes ?? WORKDIR_WARN_BYTES)) {
    const biggest = [...tree.files]
      .sort((a, b) => b.size - a.size)
      .slice(0, 3)
      .map((f) => `${f.path} (${formatBytes(f.size)})`)
    options.onWarning?.(
      `The workdir ${workdir} holds ${formatBytes(bytes)} in ${tree.files.length} files; each attempt pulls all of it. Largest: ${biggest.join(', ')}. ` +
        'Leave data, outputs and environments out with a .rfmignore file (gitignore syntax), and pass datasets through data: instead.',
    )
  }
  const staged = await stageTree(store, workdir, {name: `workdir-${nameFromPath(workdir)}`, ignore: filter, progress: options.progress})
  options.onStaged?.({
    field: 'workdir',
    given: workdir,
    path: workdir,
    ref: staged.ref,
    uploadedFiles: staged.uploadedFiles,
    uploadedBytes: staged.uploadedBytes,
    files: staged.files,
    bytes: staged.bytes,
  })
  return {...config, workdir: staged.ref}
}
