import assert from 'node:assert/strict'
import {test} from 'node:test'

import {downsample, type MetricPoint} from '../../../src/ui/metrics'

test("downsampling 100k points keeps at most 4 per bucket, in order, with every bucket's extremes and both ends", () => {
  const points: MetricPoint[] = Array.from({length: 100_000}, (_, i) => ({step: i + 1, time: i, value: Math.sin(i / 500) + (i === 54_321 ? 50 : 0) - (i === 777 ? 40 : 0)}))
  const kept = downsample(points, 1000)
  assert.ok(kept.length <= 4000 && kept.length >= 1000, `${kept.length} points`)
  assert.deepEqual(
    kept.map((p) => p.step),
    [...kept.map((p) => p.step)].sort((a, b) => a - b),
  )
  assert.equal(kept[0].step, 1)
  assert.equal(kept.at(-1)!.step, 100_000)
  assert.ok(
    kept.some((p) => p.step === 54_322),
    'the spike survives',
  )
  assert.ok(
    kept.some((p) => p.step === 778),
    'the dip survives',
  )
  const size = 100
  for (let b = 0; b < 1000; b++) {
    const bucket = points.slice(b * size, (b + 1) * size)
    const max = Math.max(...bucket.map((p) => p.value))
    assert.ok(
      kept.some((p) => p.value === max && p.step > b * size && p.step <= (b + 1) * size),
      `bucket ${b} keeps its maximum`,
    )
  }
  assert.equal(downsample(points.slice(0, 3000), 1000).length, 3000, 'small series pass through')
})
