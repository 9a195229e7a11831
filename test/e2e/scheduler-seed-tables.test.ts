/**
 * `rfm cloud plan` agrees with seed 000's memory table ("Memory (Qwen3-VL-4B per GPU)": full ≈ 40 GB,
 * + frozen vision ≈ 25, + LoRA r=16 ≈ 20, + 4-bit ≈ 15) on the seed's own default run (max_frames 32,
 * batch 4): before calibration the sft workload counted 2 × 32 frames and the plan said 255 GiB.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {rfmJson, tempHome} from '../helpers/cli'

test("seed 000's default run: the plan's memory per GPU matches the seed's table (±10%)", async () => {
  const home = tempHome()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-seed-table-'))
  const file = path.join(dir, 'seed000.yaml')
  writeFileSync(
    file,
    'dataset_path: /data/vqa\nmodel_name: Qwen/Qwen3-VL-4B-Instruct\nmax_frames: 32\nper_device_train_batch_size: 4\ntrainer_mode: external\ntrainer: {external: {command: [python, train_vqa_sft.py], workdir: .}}\n',
  )
  for (const [set, published] of [
    [[], 40],
    [['freeze_vision_tower=true'], 25],
    [['lora_rank=16'], 20],
    [['lora_rank=16', 'quantization=true'], 15],
  ] as const) {
    const {code, json, stderr} = await rfmJson(['cloud', 'plan', 'sft', '-c', file, ...set.flatMap((s) => ['--set', s])], {home})
    assert.equal(code, 0, stderr)
    const gib = json.memory.totalGiB as number
    assert.ok(Math.abs(gib / published - 1) <= 0.1, `${set.join(' ') || 'full'}: ${gib.toFixed(1)} GiB, the table says ${published}`)
  }
  // more frames cost more memory
  const frames64 = await rfmJson(['cloud', 'plan', 'sft', '-c', file, '--set', 'max_frames=64'], {home})
  assert.ok(frames64.json.memory.totalGiB > 40)
})
