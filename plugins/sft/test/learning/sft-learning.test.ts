// The built-in SFT learns robot-reward VQA from the frames to issue 10's targets, and DPO then raises held-out
// preference accuracy. CPU budget: ≈ 3-4 min of wasm (one thread), the suite's longest test; wasm makes the run
// deterministic, so the figures in the comments are what it computes. The last frame of each trajectory only
// (max_frames 1) learns faster than first + last here; examples/sft/robot-vqa-sft.yaml measures the latter.
import assert from 'node:assert/strict'
import {mkdtempSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {formats, MemoryCheckpoints, trainerContext} from '@rfm/plugin-kit/testing'
import {sft} from '../plugin'

// data parallel over the cores this process may use (trainer.workers auto); RFM_TEST_WORKERS=1 forces one thread
const WORKERS = process.env.RFM_TEST_WORKERS ? Number(process.env.RFM_TEST_WORKERS) : 'auto'
const SFT_STEPS = Number(process.env.RFM_SFT_LEARN_STEPS ?? 800)
const DPO_STEPS = Number(process.env.RFM_DPO_LEARN_STEPS ?? 75)

test('robot VQA: SFT learns preference and progress from the frames, then DPO keeps held-out preference accuracy and widens the margins', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-sft-learn-'))
  await sft.dataset.generateVqaDataset({output: path.join(dir, 'train'), numEpochs: 4, numWorkers: 0, data: {train_datasets: ['synthetic:train:512']}}, formats)
  await sft.dataset.generateVqaDataset({output: path.join(dir, 'val'), numEpochs: 4, numWorkers: 0, evalMode: true, seed: 123, data: {train_datasets: ['synthetic:val:64']}}, formats)
  const base = {
    dataset_path: path.join(dir, 'train'),
    eval_dataset_path: path.join(dir, 'val'),
    max_frames: 1,
    per_device_train_batch_size: 16,
    per_device_eval_batch_size: 128,
    logging_steps: 10,
    report_to: 'none',
    eval_strategy: 'steps',
    builtin: {backend: 'wasm', workers: WORKERS, weight_decay: 0.01, model: {width: 64, depth: 2, heads: 4, context_length: 40, image_size: 16, patch_size: 4, vision_width: 64, prompt_film: false}},
  }
  const sftConfig = {...base, learning_rate: 1e-3, warmup_ratio: 0.05, max_steps: SFT_STEPS, eval_steps: SFT_STEPS, save_steps: SFT_STEPS}
  const sftStore = new MemoryCheckpoints()
  const sftCtx = trainerContext(sftConfig, sftStore)
  await sft.run.trainSft(sft.api, sftCtx, sft.parse(sftConfig))
  const after = sftCtx.metrics.filter((m) => 'eval_preference_accuracy' in m.values).at(-1)!.values
  // from the majority answer (preference accuracy 0.520, progress MAE 0.39 on this held-out set) to 0.945 and 0.075
  t.diagnostic(`SFT: preference ${after.eval_preference_accuracy.toFixed(3)}, progress MAE ${after.eval_progress_mae.toFixed(3)}`)
  assert.ok(after.eval_preference_accuracy >= 0.9, `held-out preference accuracy ${after.eval_preference_accuracy}`)
  assert.ok(after.eval_progress_mae <= 0.1, `held-out progress MAE ${after.eval_progress_mae}`)

  // rpo_alpha: without the chosen answers' NLL, DPO pushed both answers down here and held-out accuracy fell to 0.30
  const dpoConfig = {
    ...base,
    stage: 'dpo',
    sft_checkpoint: 'sft-run',
    beta: 0.1,
    rpo_alpha: 1,
    learning_rate: 1e-3,
    warmup_ratio: 0.05,
    max_steps: DPO_STEPS,
    eval_steps: DPO_STEPS,
    save_steps: DPO_STEPS,
  }
  const dpoCtx = Object.assign(trainerContext(dpoConfig, new MemoryCheckpoints()), {loadRunCheckpoint: async () => ({...sftStore.saved.at(-1)!, runId: 'sft-run'})})
  await sft.run.trainSft(sft.api, dpoCtx, sft.parse(dpoConfig))
  const dpoEval = dpoCtx.metrics.filter((m) => 'eval_preference_accuracy' in m.values).at(-1)!.values
  const margins = dpoCtx.metrics.filter((m) => 'rewards/margins' in m.values).map((m) => m.values['rewards/margins'])
  t.diagnostic(
    `DPO: held-out preference ${after.eval_preference_accuracy.toFixed(3)} → ${dpoEval.eval_preference_accuracy.toFixed(3)}, progress MAE ${dpoEval.eval_progress_mae.toFixed(3)}, rewards/margins ${margins[0].toFixed(3)} → ${margins.at(-1)!.toFixed(3)}`,
  )
  // From this strong SFT model there is about one held-out pair to gain: 0.945 → 0.953 before the sft vocabulary
  // gained GRPO's JSON tokens (issue 20's chain), 0.945 → 0.945 since. DPO must not cost held-out accuracy; the
  // rise where there is room (first + last frame, 0.811 → 0.858) is recorded in the plugin README.
  assert.ok(dpoEval.eval_preference_accuracy >= after.eval_preference_accuracy, 'DPO kept held-out preference accuracy')
  assert.ok(dpoEval.eval_progress_mae <= 0.1, 'and progress answers stay well-formed and close')
  assert.ok(margins.at(-1)! > margins[0])
  // rewards/accuracies ≥ 0.95 on training pairs: sft-dpo.test.ts (spatial pairs) and examples/sft/robot-vqa-dpo.yaml
})
