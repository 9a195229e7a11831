/**
 * `npm run bench -- <name> [args...]` runs bench/<name>.ts (compiled to dist/bench). Each benchmark
 * measures its own baseline in the same run and prints ratios, because machines here are shared
 * and noisy: absolute times from two runs are not comparable, ratios within one run are.
 */
import {readdirSync} from 'node:fs'
import * as path from 'node:path'

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2)
  const available = readdirSync(__dirname)
    .filter((f) => f.endsWith('.js') && f !== 'run.js' && !f.startsWith('_'))
    .map((f) => f.replace(/\.js$/, ''))
  if (!name || !available.includes(name)) {
    console.error(`usage: npm run bench -- <name>\nbenchmarks: ${available.join(', ')}`)
    process.exit(2)
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bench = require(path.join(__dirname, name)) as {default: (args: string[]) => Promise<void>}
  await bench.default(args)
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message)
  process.exit(1)
})
