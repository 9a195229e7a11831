/**
 * `npm run bench -- sft-dataset [samples]`: VQA dataset generation throughput (samples/s) with
 * worker threads against the same generation in one thread, and from .npz files against the
 * synthetic generator. Baselines are measured in the same run; ratios are what to compare.
 */
import {mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import * as formats from '../src/formats'
import {sft} from './_sft-dataset'
import {ratioLine, timeMs} from './_stats'

export default async function (args: string[]): Promise<void> {
  const samples = Number(args[0] ?? 1000)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-bench-sft-'))
  const trajectories = 200
  const data = {train_datasets: [`synthetic:bench:${trajectories}`], sample_type_ratio: [1, 1, 1], max_frames: 8}
  // best of three: on a shared, loaded machine the fastest run is the least disturbed one
  const run = async (name: string, numWorkers: number, extra: Record<string, unknown> = {}) => {
    const times: number[] = []
    for (let k = 0; k < 3; k++)
      times.push(
        await timeMs(() =>
          sft.generateVqaDataset({output: path.join(dir, name), numEpochs: samples / trajectories, numWorkers, saveBatchSize: 1000, overwrite: true, data: {...data, ...extra}}, formats),
        ),
      )
    return samples / (Math.min(...times) / 1000)
  }
  await run('warmup', 0)
  const cores = os.availableParallelism()
  const one = await run('one', 0)
  console.log(`one thread: ${one.toFixed(0)} samples/s (${samples} samples of 32×32 frames, ≤ 8 frames per trajectory; ${cores} cores, load average ${os.loadavg()[0].toFixed(1)})`)
  for (const workers of [2, 4].filter((w) => w <= Math.max(2, cores))) {
    const rate = await run(`w${workers}`, workers)
    console.log(ratioLine(`--num-workers ${workers} vs one thread`, rate / one, workers <= cores ? `≈ ${Math.min(workers, cores)}× minus overhead` : undefined))
  }
  // the same trajectories as .npz files (written once, not timed)
  const npzDir = path.join(dir, 'npz')
  mkdirSync(npzDir)
  for (let i = 0; i < trajectories; i++) {
    const t = sft.syntheticTrajectory('bench', i, 32)
    await formats.writeNpz(
      path.join(npzDir, `traj_${String(i).padStart(5, '0')}.npz`),
      {frames: {dtype: 'u1', shape: [t.length, 32, 32, 3], data: t.frames}, task: {dtype: 'U', shape: [], data: [t.task]}, progress: {dtype: 'f4', shape: [t.length], data: t.progress}},
      {compress: true},
    )
  }
  const npz = await run('from-npz', 0, {train_datasets: [npzDir]})
  console.log(ratioLine('from .npz (deflated) vs synthetic, one thread', npz / one))
  rmSync(dir, {recursive: true, force: true})
}
