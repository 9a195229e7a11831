/**
 * A worker thread of dataset generation: renders the rows of the index ranges it is sent. It loads
 * the host's formats module by path (workers cannot share the parent's module objects).
 */
import {parentPort, workerData} from 'node:worker_threads'

import type {DataConfig} from './config'
import type {Formats} from './formats'
import {planContext, renderRange} from './samples'
import {TrajectoryLoader} from './sources'
import type {TrajectoryInfo} from './trajectory'

export interface WorkerInput {
  formatsModule: string
  catalogue: TrajectoryInfo[]
  config: DataConfig
  seed: number
  evalMode: boolean
}

const input = workerData as WorkerInput
// eslint-disable-next-line @typescript-eslint/no-require-imports
const formats = require(input.formatsModule) as Formats
const ctx = planContext(input.catalogue, input.config, input.seed, input.evalMode)
const loader = new TrajectoryLoader(formats, input.config)

parentPort!.on('message', async (job: {id: number; start: number; end: number}) => {
  try {
    const rows = await renderRange(ctx, loader, formats, job.start, job.end)
    // copied, not transferred: PNG buffers may be views into shared pools, and they are small
    parentPort!.postMessage({id: job.id, rows})
  } catch (error) {
    parentPort!.postMessage({
      id: job.id,
      error: {message: (error as Error).message, hint: (error as {hint?: string}).hint, exitCode: (error as {exitCode?: number}).exitCode, code: (error as {code?: string}).code},
    })
  }
})
