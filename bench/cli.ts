/**
 * CLI start-up: wall time of `rfm --help` and of `rfm cloud launch command --dry-run` as a ratio to
 * `node -e 0`, all measured here in the same run (goal ≤ 3×). The three commands take turns, round
 * by round, so that load from other processes on a shared machine falls on all three alike; each
 * round gives one ratio, and the median of those is reported with the middle half's spread.
 * Two warm-up rounds first (the file system cache; on Node >= 22 also Node's compile cache).
 * The load average is printed too: with other processes on the CPUs the ratios grow (a longer
 * process is preempted more), so a result is only comparable with one taken at a similar load.
 *
 * On Node 20 (no compile cache) start-up is paid per file loaded: `npm run compile` bundles
 * @oclif/core and yaml into one file each (scripts/bundle-vendor.js), the local backend is loaded
 * without `import()` (which starts the ES module loader), `rfm cloud launch command` builds no
 * trainer config, and the oclif bundle compares plugin names without minimatch. On 2 idle cores
 * that took the dry-run from 3.7× to 2.8× (~215 → ~165 ms) and --help from 2.6× to 2.1× (Node
 * 20.20, node -e 0 ≈ 59 ms).
 */
import {execFileSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import {median, ratioLine, timeMs} from './_stats'

export default async function cli(args: string[]): Promise<void> {
  const repeats = Number(args[0] ?? 15)
  const root = path.resolve(__dirname, '..', '..')
  const bin = path.join(root, 'bin', 'run.js')
  const env = {...process.env, RFM_HOME: mkdtempSync(path.join(os.tmpdir(), 'rfm-bench-'))}
  const run = (argv: string[]) => () => execFileSync(process.execPath, argv, {env, cwd: root, stdio: 'ignore'})
  const commands = {
    node: run(['-e', '0']),
    help: run([bin, '--help']),
    dry: run([bin, 'cloud', 'launch', 'command', '-c', 'examples/command/hello.yaml', '--dry-run']),
  }
  const times = {node: [] as number[], help: [] as number[], dry: [] as number[]}
  const loadAverage = () => os.loadavg()[0].toFixed(2)
  const loadBefore = loadAverage()
  for (let round = -2; round < repeats; round++) {
    for (const [name, command] of Object.entries(commands)) {
      const ms = await timeMs(command)
      if (round >= 0) times[name as keyof typeof times].push(ms)
    }
  }
  const ratios = (name: 'help' | 'dry') => times[name].map((ms, i) => ms / times.node[i])
  const spread = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b)
    return `middle half ${sorted[Math.floor(sorted.length / 4)].toFixed(2)}–${sorted[Math.ceil((3 * sorted.length) / 4) - 1].toFixed(2)}×`
  }
  console.log(`${repeats} rounds; median node -e 0 = ${median(times.node).toFixed(0)} ms (baseline); load average ${loadBefore} before, ${loadAverage()} after`)
  console.log(`${ratioLine(`rfm --help (${median(times.help).toFixed(0)} ms) ÷ node -e 0`, median(ratios('help')), '≤ 3×')}   ${spread(ratios('help'))}`)
  console.log(`${ratioLine(`rfm cloud launch command --dry-run (${median(times.dry).toFixed(0)} ms) ÷ node -e 0`, median(ratios('dry')), '≤ 3×')}   ${spread(ratios('dry'))}`)
}
