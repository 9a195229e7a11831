/**
 * The LLM grader against an OpenAI-compatible server on 127.0.0.1 (test/helpers/openai-server.ts):
 * what it sends, its JSON verdicts, the cache, and the fallbacks (a reply that is not
 * {"correct": …}, a timeout, an unreachable endpoint) that are counted and never fail; grpo's
 * accuracy reward with llm_grader and its reasoning reward with reasoning_embeddings.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {formats, grader, api as pluginApi, closedPort, gradedFields, startOpenAiServer, MemoryCheckpoints, trainerContext} from '@rfm/plugin-kit/testing'
import {grpoTrain} from '../plugin'

const {LlmGrader, parseVerdict} = grader

const sameWords = (a: string, b: string) =>
  a
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim() ===
  b
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()

test('the grader asks for a JSON verdict with question, gold and answer, in json_object mode, and caches by (question, gold, answer)', async () => {
  const server = await startOpenAiServer({chat: (req) => ({content: JSON.stringify({correct: sameWords(gradedFields(req).answer, gradedFields(req).gold) || gradedFields(req).answer === 'a dog'})})})
  try {
    const grader = new LlmGrader({baseUrl: server.url, model: 'judge-1', timeoutS: 5, maxConcurrency: 2})
    assert.equal(await grader.grade({question: 'what animal is this ?', gold: 'dog', answer: 'a dog'}), true)
    assert.equal(await grader.grade({question: 'what animal is this ?', gold: 'dog', answer: 'cat'}), false)
    assert.equal(await grader.grade({question: 'what animal is this ?', gold: 'dog', answer: 'a dog'}), true)
    assert.equal(server.chats.length, 2, 'the repeated question is answered from the cache')
    const req = server.chats[0]
    assert.equal(req.model, 'judge-1')
    assert.deepEqual(req.response_format, {type: 'json_object'})
    assert.deepEqual(gradedFields(req), {question: 'what animal is this ?', gold: 'dog', answer: 'a dog'})
    assert.match(req.messages[0].content, /\{"correct": true\}/)
    assert.deepEqual(grader.metrics(), {'grader/requests': 2, 'grader/graded': 3, 'grader/fallbacks': 0, 'grader/cache_hits': 1})
  } finally {
    await server.close()
  }
})

test('fallbacks are counted, never thrown: a reply that is not {"correct": bool}, a timeout, an unreachable endpoint; a server without JSON mode is asked again without it', async () => {
  assert.equal(parseVerdict('```json\n{"correct": false}\n```'), false)
  assert.equal(parseVerdict('{"correct": "yes"}'), undefined)
  assert.equal(parseVerdict('Yes, it is correct.'), undefined)
  let mode: 'prose' | 'slow' | 'no-json-mode' = 'prose'
  const server = await startOpenAiServer({
    chat: (req) => {
      if (mode === 'prose') return {content: 'Yes, the answer is correct.'}
      if (mode === 'slow') return {content: '{"correct": true}', delayMs: 1500}
      return req.response_format ? {status: 400, message: 'response_format is not supported'} : {content: '{"correct": true}'}
    },
  })
  try {
    const grader = new LlmGrader({baseUrl: server.url, model: 'm', timeoutS: 0.3, maxConcurrency: 4})
    assert.equal(await grader.grade({question: 'q1', gold: 'a', answer: 'a'}), undefined)
    assert.match(grader.stats.lastFailure!, /not \{"correct": true\|false\}/)
    mode = 'slow'
    assert.equal(await grader.grade({question: 'q2', gold: 'a', answer: 'a'}), undefined)
    assert.match(grader.stats.lastFailure!, /timed out|Timeout/i)
    mode = 'no-json-mode'
    assert.equal(await grader.grade({question: 'q3', gold: 'a', answer: 'a'}), true)
    assert.equal(server.chats.at(-1)!.response_format, undefined)
    assert.equal(grader.stats.fallbacks, 2)
    assert.equal(grader.stats.graded, 1)
  } finally {
    await server.close()
  }
  const down = new LlmGrader({baseUrl: `http://127.0.0.1:${await closedPort()}/v1`, model: 'm', timeoutS: 2, maxConcurrency: 1})
  assert.equal(await down.grade({question: 'q', gold: 'a', answer: 'a'}), undefined)
  assert.match(down.stats.lastFailure!, /Connection/i)
  assert.equal(down.metrics()['grader/fallbacks'], 1)
})

/** A JSONL + PNG VQA set in the grpo plugin's format. */
function vqaSet(n: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-grader-vqa-'))
  const png = formats.encodePng({width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(128)})
  writeFileSync(path.join(dir, 'pic.png'), png)
  const lines = Array.from({length: n}, (_, i) =>
    JSON.stringify({image: 'pic.png', question: `what is shown ${i} ?`, answer: i % 2 ? 'grey' : 'a grey square', reference_steps: ['the image is grey', 'it is a square']}),
  )
  writeFileSync(path.join(dir, 'train.jsonl'), lines.join('\n') + '\n')
  return dir
}

const grpoConfig = (dataset: string, extra: Record<string, unknown>) => ({
  dataset_name: dataset,
  reward_funcs: ['format', 'accuracy', 'reasoning'],
  max_steps: 1,
  num_generations: 2,
  per_device_train_batch_size: 4,
  max_completion_length: 4,
  builtin: {model: {width: 16, depth: 1, heads: 2, vision_width: 16, context_length: 32, image_size: 8}},
  ...extra,
})

test('grpo llm_grader: every accuracy completion goes to the grader; an unreachable grader falls back to the rules for each, counted in grader/fallbacks, and the run finishes', async () => {
  const dataset = vqaSet(4)
  const server = await startOpenAiServer({chat: () => ({content: '{"correct": false}'}), embed: (t) => [t.length % 7, t.includes('grey') ? 1 : 0, 1]})
  try {
    const ctx = trainerContext(grpoConfig(dataset, {llm_grader: {base_url: server.url, model: 'judge'}, reasoning_embeddings: {base_url: server.url, model: 'emb'}}), new MemoryCheckpoints())
    const result = await grpoTrain.trainGrpo(pluginApi, ctx)
    assert.equal(result.finished, true)
    const train = ctx.metrics.find((m) => 'loss' in m.values)!.values
    assert.ok(server.chats.length >= 1, 'the grader was asked')
    assert.ok(server.chats.every((c) => c.model === 'judge' && /^Question: what is shown \d ?/m.test(c.messages[1].content)))
    assert.equal(train['grader/fallbacks'], 0)
    assert.equal(train['grader/graded'], 4, 'the 4 completions of the step (2 prompts × 2 generations), all graded')
    assert.equal(train['rewards/accuracy/mean'], 0, 'the grader said every answer is wrong')
    assert.equal(typeof train['embeddings/requests'], 'number')
  } finally {
    await server.close()
  }
  const down = `http://127.0.0.1:${await closedPort()}/v1`
  const ctx = trainerContext(grpoConfig(dataset, {llm_grader: {base_url: down, model: 'judge', timeout_s: 2}}), new MemoryCheckpoints())
  const result = await grpoTrain.trainGrpo(pluginApi, ctx)
  assert.equal(result.finished, true)
  const train = ctx.metrics.find((m) => 'loss' in m.values)!.values
  assert.equal(train['grader/fallbacks'], 4)
  assert.equal(train['grader/graded'], 0)
})
