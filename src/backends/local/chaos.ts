import {UsageError} from '../../errors'
import type {ChaosPlan} from '../../runs/record'

export const MAX_CHAOS_KILLS = 1000

/** Parses `--chaos kills=N,seed=S[,signal=TERM|KILL|mixed][,min=SECONDS][,max=SECONDS]`. */
export function parseChaos(flag: string): ChaosPlan {
  const plan: ChaosPlan = {kills: 0, seed: 1, signal: 'mixed', minSeconds: 0.3, maxSeconds: 3}
  const fail = (why: string) =>
    new UsageError(`--chaos ${flag}: ${why}.`, {hint: 'Example: --chaos kills=20,seed=7,signal=mixed (signal TERM, KILL or mixed; min/max seconds after an attempt starts).'})
  for (const part of flag.split(',')) {
    const [key, value] = part.split('=')
    const number = Number(value)
    switch (key) {
      case 'kills':
      case 'seed':
        if (!Number.isInteger(number) || number < 0) throw fail(`${key} must be a whole number ≥ 0`)
        plan[key] = number
        break
      case 'signal':
        if (!['TERM', 'KILL', 'mixed'].includes(value)) throw fail('signal must be TERM, KILL or mixed')
        plan.signal = value as ChaosPlan['signal']
        break
      case 'min':
      case 'max':
        if (!(number >= 0)) throw fail(`${key} must be a number of seconds`)
        plan[key === 'min' ? 'minSeconds' : 'maxSeconds'] = number
        break
      default:
        throw fail(`unknown setting "${key}"`)
    }
  }
  if (plan.kills === 0) throw fail('kills=N is required')
  // each kill is one more attempt with its own log and record entry: a test needs tens, not billions
  if (plan.kills > MAX_CHAOS_KILLS) throw fail(`kills must be at most ${MAX_CHAOS_KILLS}`)
  if (plan.maxSeconds > 86_400) throw fail('max must be at most 86400 seconds (a day)')
  if (plan.maxSeconds < plan.minSeconds) throw fail('max must be ≥ min')
  return plan
}

/** A small seeded PRNG (mulberry32), so a chaos run can be replayed exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
