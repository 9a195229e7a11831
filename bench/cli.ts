/**
 * CLI start-up: wall time of `rfm --help` and of `rfm cloud launch command --dry-run` as a ratio to
 * `node -e 0`, all measured here in the same run (goal ≤ 3×).
 */
import {execFileSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import {medianMs, ratioLine} from './_stats'

export default async function cli(args: string[]): Promise<void> {
  const repeats = Number(args[0] ?? 15)
  const root = path.resolve(__dirname, '..', '..')
  const bin = path.join(root, 'bin', 'run.js')
  const env = {...process.env, RFM_HOME: mkdtempSync(path.join(os.tmpdir(), 'rfm-bench-'))}
  const run = (argv: string[]) => () => execFileSync(process.execPath, argv, {env, cwd: root, stdio: 'ignore'})

  const node = await medianMs(run(['-e', '0']), repeats, 2)
  const help = await medianMs(run([bin, '--help']), repeats, 2)
  const dry = await medianMs(run([bin, 'cloud', 'launch', 'command', '-c', 'examples/command/hello.yaml', '--dry-run']), repeats, 2)
  console.log(`median of ${repeats} runs each; node -e 0 = ${node.toFixed(0)} ms (baseline)`)
  console.log(ratioLine(`rfm --help (${help.toFixed(0)} ms) ÷ node -e 0`, help / node, '≤ 3×'))
  console.log(ratioLine(`rfm cloud launch command --dry-run (${dry.toFixed(0)} ms) ÷ node -e 0`, dry / node, '≤ 3×'))
}
