/**
 * The sft trainer's inputs and answer parsing, checked in process for the bugs that would keep it from
 * learning (moved from the top of test/learning/sft-train-learning.test.ts, whose runs are longer).
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {formats} from '@rfm/plugin-kit/testing'
import {sft} from '../plugin'

test('numbers are spelled digit by digit for the tokenizer and read back from generated answers', () => {
  assert.equal(sft.text.spaced('what color is the object at x=23 y=4 ?'), 'what color is the object at x= 2 3 y= 4 ?')
  assert.equal(sft.text.spaced('0.45'), '0 . 4 5')
  assert.equal(sft.text.unspaced('0 . 4 5'), '0.45')
  assert.equal(sft.text.unspaced('left'), 'left')
  assert.equal(sft.text.parseProgress('0.45'), 0.45)
  assert.ok(Number.isNaN(sft.text.parseProgress('A')))
  // DPO's rejected answers: the other letter, a far progress, the other of yes/no
  assert.equal(sft.robot.rejectedAnswer('preference', 'A'), 'B')
  assert.equal(sft.robot.rejectedAnswer('progress', '0.25'), '0.65')
  assert.equal(sft.robot.rejectedAnswer('progress', '0.90'), '0.50')
  assert.equal(sft.robot.rejectedAnswer('similarity', 'yes'), 'no')
})

test('eval metrics parse the generated answers: preference accuracy, progress MAE/RMSE (unparseable = worst case), per-type accuracy', () => {
  const item = (type: string, answer: string) => ({type, answer, question: 'q', framesA: [], framesB: [], rejected: ''})
  const items = [item('preference', 'A'), item('preference', 'B'), item('progress', '0.40'), item('progress', '0.80'), item('spatial', 'left')]
  const m = sft.evaluate.answerMetrics(items, ['A', 'A', '0.50', 'B', 'left'])
  assert.equal(m.eval_preference_accuracy, 0.5)
  assert.ok(Math.abs(m.eval_progress_mae - (0.1 + 0.8) / 2) < 1e-9)
  assert.ok(Math.abs(m.eval_progress_rmse - Math.sqrt((0.01 + 0.64) / 2)) < 1e-9)
  assert.equal(m.eval_spatial_accuracy, 1)
  assert.equal(m.eval_accuracy, 2 / 5)
})

// What the model is given, checked for the bugs that would make it unable to learn (the learning runs
// themselves are measured in the plugin README: they are longer than a test affords).
test('robot VQA inputs: every word is in the vocabulary, A and B frames fill their own slots, the question precedes the answer', async () => {
  const samples = await sft.dataset.vqaSamples({data: {train_datasets: ['synthetic:inputs:24'], sample_type_ratio: [1, 1, 0]}, count: 40}, formats)
  const dataset = {
    size: samples.length,
    get: (i: number) => samples[i],
    row: (i: number) => ({sample_type: samples[i].sampleType, question: samples[i].question, answer: samples[i].answer}),
  }
  const resize = (frame: Float32Array, width: number, height: number, size: number) => formats.imageToFloat(formats.resizeImage(formats.floatToImage(frame, width, height), size, size))
  const source = sft.robotSource(dataset, 16, {resize})
  const trainer = await sft.api.loadTrainer()
  const tokenizer = sft.run.fitTokenizer(trainer, source)
  const UNK = 3
  const layout = {framesPerTrajectory: 2, twoTrajectories: true, imageSize: 16}
  const differs = (a: Float32Array, b: Float32Array) => a.some((v, i) => Math.abs(v - b[i]) > 1e-6)
  let preference = 0
  for (let i = 0; i < source.size; i++) {
    const item = source.get(i)
    const row = sft.encode.textRow(tokenizer, item.question, item.answer, 48)
    assert.ok(!row.sequence.includes(UNK), `unknown word in "${item.question}" → "${item.answer}"`)
    // BOS question answer EOS: the answer (and EOS) come right after the question, and decode back to it
    const answer = row.sequence.slice(row.promptLength, row.promptLength + row.answerLength)
    assert.equal(answer.at(-1), 2)
    assert.equal(sft.text.unspaced(tokenizer.decode(answer.slice(0, -1))), item.answer)
    const slots = sft.encode.slotImages(item, layout)
    assert.equal(slots.length, 4)
    for (const f of slots) assert.equal(f.length, 16 * 16 * 3)
    assert.ok(differs(slots[0], slots[1]), 'first and last frame of A differ')
    assert.ok(
      slots[1].every((v, k) => v === item.framesA.at(-1)![k]),
      'slot 1 is the last frame of A',
    )
    if (item.type === 'preference') {
      preference += 1
      assert.ok(
        slots[3].every((v, k) => v === item.framesB.at(-1)![k]),
        'slot 3 is the last frame of B',
      )
      assert.ok(slots[2].some((v) => v > 0) && slots[3].some((v) => v > 0), 'B frames are not blank')
    } else assert.ok(slots[2].every((v) => v === 0) && slots[3].every((v) => v === 0), 'one trajectory: B slots are blank')
    for (const f of slots.slice(0, item.type === 'preference' ? 4 : 2)) assert.ok(f.every((v) => v >= 0 && v <= 1) && f.some((v) => v > 0.3), 'frames are RGB in [0, 1]')
  }
  assert.ok(preference > 5 && preference < source.size - 5, 'both sample types were checked')
})

test('spatial inputs: every word is in the vocabulary, scenes differ, max_objects bounds the shapes', async () => {
  const trainer = await sft.api.loadTrainer()
  const source = sft.sources.spatialSource(trainer, {seed: 3, offset: 0, size: 60, imageSize: 16, tasks: ['relation', 'count', 'color', 'multiple_choice']})
  const tokenizer = sft.run.fitTokenizer(trainer, source)
  for (let i = 0; i < source.size; i++) {
    const item = source.get(i)
    const row = sft.encode.textRow(tokenizer, item.question, item.answer, 40)
    assert.ok(!row.sequence.includes(3), `unknown word in "${item.question}" → "${item.answer}"`)
  }
  assert.ok(source.get(0).framesA[0].some((v, k) => v !== source.get(1).framesA[0][k]))
  const counts = (maxObjects: number) => Array.from({length: 40}, (_, i) => trainer.makeSpatialSample(3, i, 16, {tasks: ['count'], maxObjects}).objects.length)
  assert.ok(counts(2).every((n) => n === 2))
  assert.ok(counts(4).some((n) => n > 2))
  // the default is the generator's original 2..4 shapes, sample for sample
  assert.deepEqual(trainer.makeSpatialSample(3, 5, 16), trainer.makeSpatialSample(3, 5, 16, {maxObjects: 4}))
})
