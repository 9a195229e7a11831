/**
 * `rfm eval` on a built-in run's checkpoints: CV-Bench parquet (snappy and zstd pages, written by
 * parquet-wasm with the released column names and types) and VSR jsonl + images, read without
 * Python; one row per checkpoint × benchmark × task plus "all"; CV-Bench's 2D/3D/overall means;
 * --max-samples; unreadable rows counted; files that are not what they claim → exit 2 naming the
 * file and column; a local checkpoint folder; the vqa benchmark with grpo's rules and the grader.
 */
import assert from 'node:assert/strict'
import {cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {before, test} from 'node:test'

import {readCvBench} from '../../src/eval/cv-bench'
import {accuracyRows, chosenIndex, truthOf} from '../../src/eval/score'
import type {EvalSample, ResultRow} from '../../src/eval/types'
import * as formats from '../../src/formats'
import {rfm, rfmJson, tempHome} from '../helpers/cli'
import {cvBenchRows, writeCvBenchParquet, writeVsr} from '../helpers/eval-benchmarks'
import {closedPort, startOpenAiServer} from '../helpers/openai-server'
import {assertSchema} from '../helpers/schema'

const home = tempHome()
let work: string
let run: string
let vsrRecords: ReturnType<typeof writeVsr>

before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'rfm-eval-'))
  const trained = await rfmJson(['cloud', 'launch', 'vlm', '-c', 'examples/vlm/quick.yaml', '--set', 'max_steps=4', '--set', 'trainer.save_steps=2', '--set', 'trainer.eval_steps=0', '--follow'], {
    home,
    timeoutMs: 120_000,
  })
  assert.equal(trained.code, 0, trained.stderr)
  run = trained.json.run.id
  writeCvBenchParquet(path.join(work, 'cvb', 'test_2d.parquet'), cvBenchRows('2D', 8, 1), 'SNAPPY')
  writeCvBenchParquet(path.join(work, 'cvb', 'test_3d.parquet'), cvBenchRows('3D', 8, 2), 'ZSTD')
  vsrRecords = writeVsr(path.join(work, 'vsr'), 16)
})

const evalJson = (args: string[]) => rfmJson(['eval', ...args], {home, timeoutMs: 120_000})
const rowsOf = (rows: ResultRow[], checkpoint: string, benchmark: string) => rows.filter((r) => r.checkpoint === checkpoint && r.benchmark === benchmark)

test('CV-Bench parquet pages compressed with snappy and zstd read back exactly as written', async () => {
  const {parquetMetadataAsync, asyncBufferFromFile} = await import('hyparquet')
  for (const [file, codec, written] of [
    ['test_2d.parquet', 'SNAPPY', cvBenchRows('2D', 8, 1)],
    ['test_3d.parquet', 'ZSTD', cvBenchRows('3D', 8, 2)],
  ] as const) {
    const meta = await parquetMetadataAsync(await asyncBufferFromFile(path.join(work, 'cvb', file)))
    assert.ok(
      meta.row_groups[0].columns.every((c) => c.meta_data?.codec === codec),
      `${file} pages are ${codec}`,
    )
    const read = await readCvBench('cv', path.join(work, 'cvb', file))
    assert.equal(read.unreadable.length, 0)
    assert.deepEqual(
      read.samples.map((s) => ({
        id: s.id,
        type: s.type,
        task: s.task,
        question: s.question,
        choices: s.choices,
        answer: s.answer,
        bytes: Buffer.from((s.image as {bytes: Uint8Array}).bytes).toString('base64'),
      })),
      written.map((r) => ({id: String(r.idx), type: r.type, task: r.task, question: r.question, choices: r.choices, answer: r.answer, bytes: Buffer.from(r.image.bytes!).toString('base64')})),
    )
  }
})

test('answers are judged as the benchmarks mean them; CV-Bench 2D = mean(Count, Relation), 3D = mean(Depth, Distance), overall = mean(2D, 3D)', () => {
  const choices = ['left', 'right', 'above']
  for (const [answer, index] of [
    ['(B)', 1],
    ['b', 1],
    ['B. right', 1],
    ['right', 1],
    ['B. left', undefined],
    ['(D)', undefined],
    ['up', undefined],
  ] as const)
    assert.equal(chosenIndex(answer, choices), index, answer)
  for (const [answer, truth] of [
    ['true', true],
    ['Yes, it is', true],
    ['false', false],
    ['no', false],
    ['maybe', undefined],
    ['right', undefined],
  ] as const)
    assert.equal(truthOf(answer), truth, answer)
  const sample = (task: string, type: string): EvalSample => ({id: task, task, type, question: '', answer: '(A)', kind: 'choice', image: {file: '', source: ''}})
  // Count 3/4, Relation 1/2, Depth 0/2, Distance 2/2: 2D = 0.625, 3D = 0.5, overall 0.5625 (the plain mean would be 0.6)
  const judged = [
    ...[1, 1, 1, 0].map((c) => ({sample: sample('Count', '2D'), correct: c === 1})),
    ...[1, 0].map((c) => ({sample: sample('Relation', '2D'), correct: c === 1})),
    ...[0, 0].map((c) => ({sample: sample('Depth', '3D'), correct: c === 1})),
    ...[1, 1].map((c) => ({sample: sample('Distance', '3D'), correct: c === 1})),
  ].map((j) => ({...j, graded: false, fallback: false}))
  const rows = accuracyRows({checkpoint: 'c', step: 1, benchmark: 'cv'}, judged, 3, 'cv-bench')
  assert.deepEqual(
    rows.map((r) => [r.task, r.accuracy, r.samples]),
    [
      ['Count', 0.75, 4],
      ['Depth', 0, 2],
      ['Distance', 1, 2],
      ['Relation', 0.5, 2],
      ['2D', 0.625, 6],
      ['3D', 0.5, 4],
      ['all', 0.5625, 10],
    ],
  )
  assert.equal(rows.at(-1)!.unreadable, 3)
})

test('rfm eval RUN scores every checkpoint on CV-Bench (a folder of 2D snappy + 3D zstd) and VSR, --max-samples N rows each; table, --json rows and the files in --out', async () => {
  const out = path.join(work, 'out')
  const r = await evalJson([run, '--benchmark', `cv-bench=${path.join(work, 'cvb')}`, '--benchmark', `vsr=${path.join(work, 'vsr')}`, '--max-samples', '12', '--out', out])
  assert.equal(r.code, 0, r.stderr)
  assertSchema('eval', r.json)
  assert.deepEqual(
    r.json.checkpoints.map((c: {name: string}) => c.name),
    [`${run}@2`, `${run}@4`],
  )
  for (const ck of [`${run}@2`, `${run}@4`]) {
    const cv = rowsOf(r.json.results, ck, 'cv-bench')
    // the first 12 rows: 8 of test_2d.parquet, 4 of test_3d.parquet
    assert.deepEqual(
      cv.map((x) => [x.task, x.samples]),
      [
        ['Count', 4],
        ['Depth', 2],
        ['Distance', 2],
        ['Relation', 4],
        ['2D', 8],
        ['3D', 4],
        ['all', 12],
      ],
    )
    const acc = Object.fromEntries(cv.map((x) => [x.task, x.accuracy!]))
    assert.equal(acc['2D'], (acc.Count + acc.Relation) / 2)
    assert.equal(acc['3D'], (acc.Depth + acc.Distance) / 2)
    assert.equal(acc.all, (acc['2D'] + acc['3D']) / 2)
    const vsr = rowsOf(r.json.results, ck, 'vsr')
    const perRelation = new Map<string, number>()
    for (const rec of vsrRecords.slice(0, 12)) perRelation.set(rec.relation, (perRelation.get(rec.relation) ?? 0) + 1)
    assert.deepEqual(
      vsr.map((x) => [x.task, x.samples]),
      [...[...perRelation].sort(([a], [b]) => a.localeCompare(b)), ['all', 12]],
    )
    const all = vsr.at(-1)!
    assert.equal(all.accuracy, all.correct / 12)
    assert.equal(
      all.correct,
      vsr.slice(0, -1).reduce((a, x) => a + x.correct, 0),
    )
  }
  const csv = readFileSync(path.join(out, 'eval_results.csv'), 'utf8').trim().split('\n')
  assert.equal(csv[0], 'checkpoint,step,benchmark,task,accuracy,samples,correct,unreadable,graded,grader_fallbacks,status,error')
  assert.equal(csv.length, 1 + r.json.results.length)
  assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'eval_results.json'), 'utf8')), r.json)
  const logs = readdirSync(path.join(out, 'logs'))
  assert.equal(logs.length, 1)
  assert.match(readFileSync(path.join(out, 'logs', logs[0]), 'utf8'), new RegExp(`${run}@4 vsr: accuracy`))
  const text = await rfm(['eval', run, '--benchmark', `vsr=${path.join(work, 'vsr', 'test.jsonl')}`, '--images', path.join(work, 'vsr', 'images'), '--max-samples', '2', '--checkpoints', 'final'], {
    home,
    timeoutMs: 120_000,
  })
  assert.equal(text.code, 0, text.stderr)
  assert.match(text.stdout, /^checkpoint\s+benchmark\s+task\s+accuracy\s+samples\s+unreadable$/m)
  assert.match(text.stdout, new RegExp(`^${run}@4\\s+vsr\\s+all\\s+\\d\\.\\d{4}\\s+2\\s+0$`, 'm'))
})

test('unreadable rows are counted and reported, never fatal: an image that does not decode, an answer naming no choice, a line that is not JSON, a missing image file', async () => {
  const rows = cvBenchRows('2D', 4, 3)
  rows[1].image = {bytes: new Uint8Array([1, 2, 3, 4]), path: null}
  rows[2].answer = '(Z)'
  writeCvBenchParquet(path.join(work, 'bad-cvb', 'test_2d.parquet'), rows, 'ZSTD')
  const vsr = path.join(work, 'bad-vsr')
  writeVsr(vsr, 4)
  const lines = readFileSync(path.join(vsr, 'test.jsonl'), 'utf8').trim().split('\n')
  lines.splice(1, 0, '{"image": "x.png", "caption": broken')
  lines[3] = lines[3].replace(/"image":"[^"]+"/, '"image":"missing.png"')
  writeFileSync(path.join(vsr, 'test.jsonl'), lines.join('\n') + '\n')
  const r = await evalJson([run, '--checkpoints', 'latest', '--benchmark', `cv-bench-bad=${path.join(work, 'bad-cvb')}`, '--benchmark', `vsr=${vsr}`])
  assert.equal(r.code, 0, r.stderr)
  const cv = rowsOf(r.json.results, `${run}@4`, 'cv-bench-bad').at(-1)!
  assert.deepEqual([cv.samples, cv.unreadable], [2, 2])
  const v = rowsOf(r.json.results, `${run}@4`, 'vsr').at(-1)!
  assert.deepEqual([v.samples, v.unreadable], [3, 2])
  assert.ok(
    v.unreadable_rows!.some((w) => /test\.jsonl line 2: not valid JSON/.test(w)),
    v.unreadable_rows!.join('; '),
  )
  assert.ok(
    v.unreadable_rows!.some((w) => /missing\.png does not exist/.test(w)),
    v.unreadable_rows!.join('; '),
  )
  assert.ok(
    cv.unreadable_rows!.some((w) => /answer "\(Z\)" names none of the 4 choices/.test(w)),
    cv.unreadable_rows!.join('; '),
  )
  assert.ok(
    cv.unreadable_rows!.some((w) => /not a PNG or JPEG/.test(w)),
    cv.unreadable_rows!.join('; '),
  )
})

test('a benchmark file that is not what it claims is an exit-2 error naming the file and the column', async () => {
  const rows = cvBenchRows('2D', 2)
  const noAnswer = path.join(work, 'no-answer', 'test_2d.parquet')
  writeCvBenchParquet(noAnswer, rows, 'SNAPPY', (row) => ({idx: row.idx, type: row.type, task: row.task, image: 'x', question: row.question, choices: row.choices.join(',')}))
  const wrongChoices = path.join(work, 'wrong-choices', 'test_2d.parquet')
  writeCvBenchParquet(wrongChoices, rows, 'SNAPPY', (row) => ({idx: row.idx, type: row.type, task: row.task, question: row.question, choices: row.choices.join(','), answer: row.answer}))
  const notParquet = path.join(work, 'not-parquet.parquet')
  writeFileSync(notParquet, 'idx,type\n0,2D\n')
  const vsrNoCaption = path.join(work, 'vsr-no-caption')
  cpSync(path.join(work, 'vsr'), vsrNoCaption, {recursive: true})
  writeFileSync(path.join(vsrNoCaption, 'test.jsonl'), '{"image": "a.png", "label": 1, "relation": "left of"}\n')
  for (const [spec, file, field] of [
    [`cv-bench=${noAnswer}`, noAnswer, 'answer'],
    [`cv-bench=${path.dirname(wrongChoices)}`, wrongChoices, 'image'],
    [`cv-bench=${notParquet}`, notParquet, undefined],
    [`vsr=${vsrNoCaption}`, path.join(vsrNoCaption, 'test.jsonl'), 'caption'],
  ] as const) {
    const r = await evalJson([run, '--benchmark', spec])
    assert.equal(r.code, 2, `${spec}: ${r.stdout}`)
    assert.equal(r.json.error.code, 'FORMAT_ERROR')
    assert.ok(r.json.error.message.startsWith(file), r.json.error.message)
    if (field) {
      assert.equal(r.json.error.details.field, field)
      assert.match(r.json.error.message, new RegExp(`"${field}"`))
    }
  }
  const unknown = await evalJson([run, '--benchmark', `mmlu=${notParquet}`])
  assert.equal(unknown.code, 2)
  assert.match(unknown.json.error.message, /unknown benchmark "mmlu"/)
})

test("a local checkpoint folder scores like the run's checkpoint; --checkpoints picks steps", async () => {
  const pulled = await rfmJson(['ckpt', 'pull', run, path.join(work, 'ckpt-4'), '--step', '4'], {home})
  assert.equal(pulled.code, 0, pulled.stderr)
  const bench = ['--benchmark', `vsr=${path.join(work, 'vsr')}`, '--max-samples', '6']
  const fromRun = await evalJson([run, '--checkpoints', '4', ...bench])
  const fromDir = await evalJson([path.join(work, 'ckpt-4'), ...bench])
  assert.equal(fromDir.code, 0, fromDir.stderr)
  assert.deepEqual(fromDir.json.checkpoints, [{name: 'ckpt-4', step: 4}])
  assert.deepEqual(
    fromDir.json.results.map((x: ResultRow) => [x.task, x.accuracy, x.samples]),
    fromRun.json.results.map((x: ResultRow) => [x.task, x.accuracy, x.samples]),
  )
  // a damaged checkpoint is an error row, not a crash; when nothing could be evaluated the command exits 1
  cpSync(path.join(work, 'ckpt-4'), path.join(work, 'ckpt-bad'), {recursive: true})
  writeFileSync(path.join(work, 'ckpt-bad', 'model.safetensors'), 'not safetensors')
  const bad = await evalJson([path.join(work, 'ckpt-bad'), ...bench])
  assert.equal(bad.code, 1)
  assert.deepEqual(
    bad.json.results.map((x: ResultRow) => [x.checkpoint, x.status]),
    [['ckpt-bad', 'error']],
  )
  assert.match(bad.json.results[0].error, /the weights do not decode/)
  const missing = await evalJson([run, '--checkpoints', '3', ...bench])
  assert.equal(missing.code, 2)
  assert.match(missing.json.error.message, /no checkpoint at step 3/)
})

test("vqa=PATH: a VQA set in the grpo plugin's format, judged by its accuracy rules or by the LLM grader; grader failures fall back to the rules and are counted", async () => {
  const dir = path.join(work, 'vqa')
  cpSync(path.join(work, 'vsr', 'images'), path.join(dir, 'images'), {recursive: true})
  const image = readdirSync(path.join(dir, 'images'))[0]
  const lines = Array.from({length: 5}, (_, i) => JSON.stringify({image: `images/${image}`, question: `what colour is the square ${i} ?`, answer: 'red', reference_steps: ['the square is red']}))
  writeFileSync(path.join(dir, 'test.jsonl'), [...lines, '{"image": "images/none.png", "question": "q", "answer": "a", "reference_steps": []}'].join('\n') + '\n')
  const bench = [run, '--checkpoints', 'final', '--benchmark', `vqa=${dir}`]
  const rules = await evalJson(bench)
  assert.equal(rules.code, 0, rules.stderr)
  const ruleRow = rules.json.results.at(-1) as ResultRow
  assert.deepEqual([ruleRow.samples, ruleRow.unreadable, ruleRow.graded], [5, 1, 0])
  const server = await startOpenAiServer({chat: () => ({content: '{"correct": true}'})})
  try {
    const graded = await evalJson([...bench, '--grader-url', server.url, '--grader-model', 'judge'])
    assert.equal(graded.code, 0, graded.stderr)
    const row = graded.json.results.at(-1) as ResultRow
    assert.deepEqual([row.accuracy, row.graded, row.grader_fallbacks], [1, 5, 0])
    assert.equal(graded.json.grader.model, 'judge')
    assert.ok(server.chats.length >= 1 && server.chats.length <= 5, 'identical (question, gold, answer) are asked once')
    assert.ok(server.chats.every((c) => /Gold answer: red/.test(c.messages[1].content)))
  } finally {
    await server.close()
  }
  const down = await evalJson([...bench, '--grader-url', `http://127.0.0.1:${await closedPort()}/v1`, '--grader-model', 'judge', '--grader-timeout', '2'])
  assert.equal(down.code, 0, down.stderr)
  const row = down.json.results.at(-1) as ResultRow
  assert.deepEqual([row.accuracy, row.graded, row.grader_fallbacks], [ruleRow.accuracy, 0, 5])
  assert.equal(down.json.grader.fallbacks, 5)
  assert.ok(existsSync(dir))
  void formats
})
