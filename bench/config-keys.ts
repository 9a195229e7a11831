/**
 * Reading a config is linear in its number of keys (reliability D9: yaml's uniqueKeys made it
 * quadratic). Times loadConfigFile on N and 8N env keys in the same run; linear gives a ratio near
 * 8 (goal ≤ 16, quadratic would be ~64).
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

import {loadConfigFile} from '../src/config/load'
import {medianMs, ratioLine} from './_stats'

export default async function configKeys(args: string[]): Promise<void> {
  const small = Number(args[0] ?? 5000)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-bench-keys-'))
  const file = (n: number) => {
    const f = path.join(dir, `keys-${n}.yaml`)
    writeFileSync(f, ['command: [node]', 'env:', ...Array.from({length: n}, (_, i) => `  K${i}: ${i}`)].join('\n') + '\n')
    return f
  }
  const a = file(small)
  const b = file(small * 8)
  const tSmall = await medianMs(() => loadConfigFile(a), 5, 1)
  const tLarge = await medianMs(() => loadConfigFile(b), 5, 1)
  console.log(`${small} keys: ${tSmall.toFixed(0)} ms (baseline); ${small * 8} keys: ${tLarge.toFixed(0)} ms`)
  console.log(ratioLine(`8× the keys ÷ baseline`, tLarge / tSmall, '≤ 16× (linear ≈ 8×)'))
}
