/** Small helpers shared by benchmarks: timing, medians, ratio formatting. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export async function timeMs(fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - start) / 1e6
}

/** Runs `fn` `repeats` times (after `warmup` runs) and returns the median time in ms. */
export async function medianMs(fn: () => Promise<unknown> | unknown, repeats = 7, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn()
  const times: number[] = []
  for (let i = 0; i < repeats; i++) times.push(await timeMs(fn))
  return median(times)
}

export function ratioLine(label: string, ratio: number, goal?: string): string {
  return `${label.padEnd(52)} ${ratio.toFixed(2)}×${goal ? `   (goal ${goal})` : ''}`
}
