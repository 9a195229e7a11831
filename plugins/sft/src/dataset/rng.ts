/**
 * Seeded randomness for dataset generation. Every sample and every synthetic trajectory draws from
 * its own stream, keyed by (seed, index), so any index can be produced alone, in any worker.
 */

/** 32-bit mix of a list of integers and strings (FNV-1a over their bytes, then an avalanche step). */
export function hashKey(...parts: (number | string)[]): number {
  let h = 0x811c9dc5
  for (const part of parts) {
    const text = typeof part === 'number' ? `#${part}` : `$${part}`
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i)
      h = Math.imul(h, 0x01000193)
    }
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** mulberry32: small, fast, good enough for sampling decisions and rendering noise. */
export class Stream {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** uniform in [0, 1) */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** uniform in [lo, hi) */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next()
  }

  /** integer in [lo, hi] (both included) */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]
  }

  chance(p: number): boolean {
    return this.next() < p
  }
}

export function stream(...parts: (number | string)[]): Stream {
  return new Stream(hashKey(...parts))
}
