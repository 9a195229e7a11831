/**
 * Every kind that has samples takes `--max-samples N` on `rfm cloud launch` as a quick validation run
 * (issue 20, item 5): it becomes the kind's own key. The plugin kinds are covered in
 * external-given-keys; these are the built-in vlm and eval kinds.
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {rfmJson, tempHome} from '../helpers/cli'

test('--max-samples sets task.train_size of a vlm run and max_samples of an eval job (dry run)', async () => {
  const home = tempHome()
  const vlm = await rfmJson(['cloud', 'launch', 'vlm', '--max-samples', '64', '--dry-run'], {home})
  assert.equal(vlm.code, 0, vlm.stderr)
  assert.equal(vlm.json.run.config.task.train_size, 64)

  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-max-samples-'))
  const checkpoint = path.join(dir, 'model')
  const bench = path.join(dir, 'vsr.jsonl')
  mkdirSync(checkpoint)
  writeFileSync(path.join(checkpoint, 'x'), '')
  writeFileSync(bench, '')
  writeFileSync(path.join(dir, 'eval.yaml'), `model: model\nbenchmarks: {vsr: vsr.jsonl}\nimages: model\n`)
  const evaluation = await rfmJson(['cloud', 'launch', 'eval', '-c', path.join(dir, 'eval.yaml'), '--max-samples', '5', '--dry-run'], {home})
  assert.equal(evaluation.code, 0, evaluation.stderr)
  assert.equal(evaluation.json.run.config.max_samples, 5)

  const bad = await rfmJson(['cloud', 'launch', 'vlm', '--max-samples', 'many', '--dry-run'], {home})
  assert.equal(bad.code, 2)
  assert.match(bad.json.error.message, /max-samples/)
})
