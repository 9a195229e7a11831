/**
 * A built-in training run as its own process, the way the runtime runs it:
 *   node train-process.js <config.json> <checkpoint-dir> <metrics.jsonl>
 * SIGTERM asks the loop to stop (it checkpoints at the next step boundary and returns); exit 75
 * means "interrupted, retry me", 0 means finished.
 */
import {appendFileSync, readFileSync} from 'node:fs'

import {EXIT_RETRY} from '../../src/plugin-api'
import {runTraining} from '../../src/trainer'
import {DirCheckpoints} from './dir-checkpoints'

async function main(): Promise<void> {
  const [configPath, checkpointDir, metricsPath] = process.argv.slice(2)
  let stop = false
  process.on('SIGTERM', () => (stop = true))
  const result = await runTraining({
    runId: 'chaos',
    attempt: 1,
    config: JSON.parse(readFileSync(configPath, 'utf8')),
    checkpoints: new DirCheckpoints(checkpointDir),
    stopRequested: () => stop,
    logMetrics: (step, values) => appendFileSync(metricsPath, JSON.stringify({step, ...values}) + '\n'),
    log: (message) => console.log(message),
    workDir: checkpointDir,
  })
  process.exit(result.finished ? 0 : EXIT_RETRY)
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message)
  process.exit(1)
})
