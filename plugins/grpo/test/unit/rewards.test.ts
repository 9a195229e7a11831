/**
 * The GRPO rewards, table-driven. The cases were written from the rules in issue 11 (and the
 * seeds' guide) before the code: each row is (reward, completion, sample) → expected reward.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'

import {grpo, RewardSample} from '../plugin'

const {rewards} = grpo

type Sample = RewardSample

const J = (answer: string, steps: string[] = ['look at the image']) => JSON.stringify({reasoning_steps: steps, answer})
const vqa = (answer: string, extra: Partial<Sample> = {}): Sample => ({question: 'what is shown?', answer, referenceSteps: [], ...extra})

interface Row {
  name: string
  fn: string
  completion: string
  sample: Sample
  /** exact expected reward, or [lo, hi] */
  want: number | [number, number]
}

const table: Row[] = [
  // format: valid JSON with exactly {"reasoning_steps": [strings], "answer": string}
  {name: 'format: exact schema', fn: 'format', completion: J('nokia'), sample: vqa('nokia'), want: 1},
  {name: 'format: spaced JSON (word tokenizer output)', fn: 'format', completion: '{ "reasoning_steps" : [ " a b " ] , "answer" : " left " }', sample: vqa('left'), want: 1},
  {name: 'format: inside one ```json fence', fn: 'format', completion: '```json\n' + J('x') + '\n```', sample: vqa('x'), want: 1},
  {name: 'format: not JSON', fn: 'format', completion: 'the answer is nokia', sample: vqa('nokia'), want: 0},
  {name: 'format: truncated JSON', fn: 'format', completion: '{"reasoning_steps": ["a"], "answer": "b"', sample: vqa('b'), want: 0},
  {name: 'format: text after the JSON', fn: 'format', completion: J('b') + ' so b', sample: vqa('b'), want: 0},
  {name: 'format: extra key', fn: 'format', completion: JSON.stringify({reasoning_steps: ['a'], answer: 'b', confidence: 1}), sample: vqa('b'), want: 0},
  {name: 'format: missing reasoning_steps', fn: 'format', completion: JSON.stringify({answer: 'b'}), sample: vqa('b'), want: 0},
  {name: 'format: steps not a list of strings', fn: 'format', completion: JSON.stringify({reasoning_steps: [1, 2], answer: 'b'}), sample: vqa('b'), want: 0},
  {name: 'format: steps a string', fn: 'format', completion: JSON.stringify({reasoning_steps: 'a', answer: 'b'}), sample: vqa('b'), want: 0},
  {name: 'format: answer a number', fn: 'format', completion: JSON.stringify({reasoning_steps: ['a'], answer: 3}), sample: vqa('3'), want: 0},
  {name: 'format: empty answer', fn: 'format', completion: J(''), sample: vqa('b'), want: 0},
  {name: 'format: top level array', fn: 'format', completion: '[' + J('b') + ']', sample: vqa('b'), want: 0},

  // accuracy, text: normalised exact match (case, punctuation, articles, spaces)
  {name: 'acc text: exact', fn: 'accuracy', completion: J('nokia'), sample: vqa('nokia'), want: 1},
  {name: 'acc text: case, article, punctuation', fn: 'accuracy', completion: J('The Nokia.'), sample: vqa('nokia'), want: 1},
  {name: 'acc text: wrong', fn: 'accuracy', completion: J('samsung'), sample: vqa('nokia'), want: 0},
  {name: 'acc text: superset is not exact', fn: 'accuracy', completion: J('nokia phone'), sample: vqa('nokia'), want: 0},
  {name: 'acc text: answer pulled from broken JSON', fn: 'accuracy', completion: '{"reasoning_steps": ["a"], "answer": "nokia"', sample: vqa('nokia'), want: 1},
  {name: 'acc text: no answer at all', fn: 'accuracy', completion: 'I think so', sample: vqa('nokia'), want: 0},
  {name: 'acc text: number word vs digit', fn: 'accuracy', completion: J('three'), sample: vqa('3'), want: 1},

  // accuracy, multiple choice: the option letter; the option's own text also names it
  {name: 'acc mc: letter', fn: 'accuracy', completion: J('B'), sample: vqa('B', {choices: ['A. left', 'B. right']}), want: 1},
  {name: 'acc mc: letter with punctuation', fn: 'accuracy', completion: J('(b)'), sample: vqa('B', {choices: ['A. left', 'B. right']}), want: 1},
  {name: 'acc mc: wrong letter', fn: 'accuracy', completion: J('A'), sample: vqa('B', {choices: ['A. left', 'B. right']}), want: 0},
  {name: 'acc mc: option text of the right option', fn: 'accuracy', completion: J('right'), sample: vqa('B', {choices: ['A. left', 'B. right']}), want: 1},
  {name: 'acc mc: option text of a wrong option', fn: 'accuracy', completion: J('left'), sample: vqa('B', {choices: ['A. left', 'B. right']}), want: 0},
  {name: 'acc mc: letter plus its text', fn: 'accuracy', completion: J('B. right'), sample: vqa('B', {choices: ['A. left', 'B. right']}), want: 1},
  {name: 'acc mc: letter contradicting its text', fn: 'accuracy', completion: J('B. left'), sample: vqa('B', {choices: ['A. left', 'B. right']}), want: 0},
  {name: 'acc mc: gold given as option text, options without letters', fn: 'accuracy', completion: J('C'), sample: vqa('blue', {options: ['red', 'green', 'blue']}), want: 1},
  {name: 'acc mc: gold as text, answer as that text', fn: 'accuracy', completion: J('Blue'), sample: vqa('blue', {options: ['red', 'green', 'blue']}), want: 1},

  // accuracy, numeric: value with units and the requested precision
  {name: 'acc num: plain', fn: 'accuracy', completion: J('42'), sample: vqa('42'), want: 1},
  {name: 'acc num: trailing zeros', fn: 'accuracy', completion: J('3.50'), sample: vqa('3.5'), want: 1},
  {name: 'acc num: wrong value', fn: 'accuracy', completion: J('41'), sample: vqa('42'), want: 0},
  {name: 'acc num: same unit', fn: 'accuracy', completion: J('3.5 m'), sample: vqa('3.5 m'), want: 1},
  {name: 'acc num: converted unit', fn: 'accuracy', completion: J('350 cm'), sample: vqa('3.5 meters'), want: 1},
  {name: 'acc num: unit missing', fn: 'accuracy', completion: J('3.5'), sample: vqa('3.5 m'), want: 0.5},
  {name: 'acc num: incompatible unit', fn: 'accuracy', completion: J('3.5 kg'), sample: vqa('3.5 m'), want: 0},
  {name: 'acc num: percent', fn: 'accuracy', completion: J('45%'), sample: vqa('45 percent'), want: 1},
  {name: 'acc num: thousands separator', fn: 'accuracy', completion: J('1,200'), sample: vqa('1200'), want: 1},
  {name: 'acc num: requested precision met', fn: 'accuracy', completion: J('3.14'), sample: vqa('3.14159', {question: 'what is the ratio? answer to 2 decimal places'}), want: 1},
  {name: 'acc num: requested precision not met', fn: 'accuracy', completion: J('3.14159'), sample: vqa('3.14159', {question: 'what is the ratio? answer to 2 decimal places'}), want: 0},
  {name: 'acc num: requested precision, wrong rounding', fn: 'accuracy', completion: J('3.15'), sample: vqa('3.14159', {question: 'what is the ratio? round to two decimals'}), want: 0},
  {name: 'acc num: nearest integer', fn: 'accuracy', completion: J('7'), sample: vqa('6.8', {question: 'how far is it, to the nearest integer?'}), want: 1},
  {name: 'acc num: gold precision decides when none requested', fn: 'accuracy', completion: J('2.04'), sample: vqa('2.0'), want: 1},

  // accuracy, unanswerable questions
  {name: 'acc insufficient: matches', fn: 'accuracy', completion: J('Insufficient information'), sample: vqa('insufficient information'), want: 1},
  {name: 'acc insufficient: synonym', fn: 'accuracy', completion: J('cannot be determined'), sample: vqa('insufficient information'), want: 1},
  {name: 'acc insufficient: guessed an answer', fn: 'accuracy', completion: J('nokia'), sample: vqa('insufficient information'), want: 0},
  {name: 'acc insufficient: refused an answerable question', fn: 'accuracy', completion: J('insufficient information'), sample: vqa('nokia'), want: 0},

  // reasoning: Match F1 over steps (character-trigram cosine, τ = 0.5, greedy one-to-one)
  {
    name: 'reasoning: identical steps',
    fn: 'reasoning',
    completion: J('x', ['the red circle is at x=12', 'the blue square is at x=40']),
    sample: vqa('x', {referenceSteps: ['the red circle is at x=12', 'the blue square is at x=40']}),
    want: 1,
  },
  {
    name: 'reasoning: reordered, reworded slightly',
    fn: 'reasoning',
    completion: J('x', ['The blue square is at x=40.', 'the red circle is at x = 12']),
    sample: vqa('x', {referenceSteps: ['the red circle is at x=12', 'the blue square is at x=40']}),
    want: 1,
  },
  {
    name: 'reasoning: half the steps',
    fn: 'reasoning',
    completion: J('x', ['the red circle is at x=12']),
    sample: vqa('x', {referenceSteps: ['the red circle is at x=12', 'the blue square is at x=40']}),
    want: 2 / 3,
  },
  {
    name: 'reasoning: one match, one unrelated',
    fn: 'reasoning',
    completion: J('x', ['the red circle is at x=12', 'zebras graze quietly']),
    sample: vqa('x', {referenceSteps: ['the red circle is at x=12', 'the blue square is at x=40']}),
    want: 0.5,
  },
  {
    name: 'reasoning: a duplicate step matches once',
    fn: 'reasoning',
    completion: J('x', ['the red circle is at x=12', 'the red circle is at x=12']),
    sample: vqa('x', {referenceSteps: ['the red circle is at x=12', 'the blue square is at x=40']}),
    want: 0.5,
  },
  {name: 'reasoning: nothing similar', fn: 'reasoning', completion: J('x', ['zebras graze quietly']), sample: vqa('x', {referenceSteps: ['the red circle is at x=12']}), want: 0},
  {name: 'reasoning: no steps predicted', fn: 'reasoning', completion: J('x', []), sample: vqa('x', {referenceSteps: ['the red circle is at x=12']}), want: 0},
  {name: 'reasoning: no reference steps', fn: 'reasoning', completion: J('x', ['a step']), sample: vqa('x'), want: 0},
  {name: 'reasoning: invalid JSON', fn: 'reasoning', completion: 'the red circle is at x=12', sample: vqa('x', {referenceSteps: ['the red circle is at x=12']}), want: 0},

  // spatial: exact answer, else relations extracted (synonyms) and compared
  {name: 'spatial: exact', fn: 'spatial', completion: J('left'), sample: vqa('left', {question: 'is the red circle left of or right of the blue square ?'}), want: 1},
  {name: 'spatial: synonym phrase', fn: 'spatial', completion: J('to the left of the blue square'), sample: vqa('left'), want: 1},
  {name: 'spatial: opposite', fn: 'spatial', completion: J('right'), sample: vqa('left'), want: 0},
  {name: 'spatial: above = on top of', fn: 'spatial', completion: J('on top of it'), sample: vqa('above'), want: 1},
  {name: 'spatial: below = underneath', fn: 'spatial', completion: J('underneath'), sample: vqa('below'), want: 1},
  {name: 'spatial: below vs above', fn: 'spatial', completion: J('above'), sample: vqa('below'), want: 0},
  {name: 'spatial: in front of = closer', fn: 'spatial', completion: J('closer to the camera'), sample: vqa('in front of'), want: 1},
  {name: 'spatial: behind vs in front', fn: 'spatial', completion: J('in front of'), sample: vqa('behind'), want: 0},
  {name: 'spatial: behind = in back of', fn: 'spatial', completion: J('in back of the box'), sample: vqa('behind'), want: 1},
  {name: 'spatial: inside = within', fn: 'spatial', completion: J('within the bowl'), sample: vqa('inside'), want: 1},
  {name: 'spatial: inside vs outside', fn: 'spatial', completion: J('outside'), sample: vqa('inside'), want: 0},
  {name: 'spatial: both sides named is no answer', fn: 'spatial', completion: J('left or right'), sample: vqa('left'), want: 0},
  {name: 'spatial: right relation, extra compatible one', fn: 'spatial', completion: J('left and above'), sample: vqa('left'), want: 1},
  {name: 'spatial: yes/no answer', fn: 'spatial', completion: J('Yes.'), sample: vqa('yes', {question: 'is the cup on the table?'}), want: 1},
  {name: 'spatial: no relation in the answer', fn: 'spatial', completion: J('blue'), sample: vqa('left'), want: 0},

  // counting: exact, partial credit for near misses, number words
  {name: 'count: exact', fn: 'counting', completion: J('3'), sample: vqa('3'), want: 1},
  {name: 'count: number word', fn: 'counting', completion: J('three'), sample: vqa('3'), want: 1},
  {name: 'count: number word in a sentence', fn: 'counting', completion: J('there are three circles'), sample: vqa('3'), want: 1},
  {name: 'count: gold as a word', fn: 'counting', completion: J('4'), sample: vqa('four'), want: 1},
  {name: 'count: compound number word', fn: 'counting', completion: J('twenty-one'), sample: vqa('21'), want: 1},
  {name: 'count: off by one', fn: 'counting', completion: J('4'), sample: vqa('3'), want: 0.5},
  {name: 'count: off by two', fn: 'counting', completion: J('5'), sample: vqa('3'), want: 0.25},
  {name: 'count: far off', fn: 'counting', completion: J('9'), sample: vqa('3'), want: 0},
  {name: 'count: relative near miss on a large count', fn: 'counting', completion: J('52'), sample: vqa('50'), want: 0.5},
  {name: 'count: no number', fn: 'counting', completion: J('many'), sample: vqa('3'), want: 0},
  {name: 'count: zero', fn: 'counting', completion: J('none'), sample: vqa('0'), want: 1},

  // combined: 0.8 × the task's reward + 0.2 × format, the task from the sample or the question
  {name: 'combined: count task, right', fn: 'combined', completion: J('3'), sample: vqa('3', {question: 'how many circles are there ?'}), want: 1},
  {name: 'combined: count task, off by one', fn: 'combined', completion: J('4'), sample: vqa('3', {question: 'how many circles are there ?'}), want: 0.8 * 0.5 + 0.2},
  {name: 'combined: relation task, synonym', fn: 'combined', completion: J('to the left'), sample: vqa('left', {question: 'is the red circle left of or right of the blue square ?'}), want: 1},
  {name: 'combined: relation task, wrong, bad format', fn: 'combined', completion: 'right', sample: vqa('left', {question: 'is the red circle left of or right of the blue square ?'}), want: 0},
  {name: 'combined: generic task uses accuracy', fn: 'combined', completion: J('samsung'), sample: vqa('nokia'), want: 0.2},
  {name: 'combined: task column wins over the question', fn: 'combined', completion: J('4'), sample: vqa('3', {question: 'what number is shown?', task: 'count'}), want: 0.6},
]

for (const row of table) {
  test(`reward ${row.name}`, () => {
    const [result] = rewards.REWARDS[row.fn as keyof typeof rewards.REWARDS]([row.completion], [row.sample])
    if (Array.isArray(row.want)) assert.ok(result.reward >= row.want[0] && result.reward <= row.want[1], `${result.reward} (${result.why})`)
    else assert.ok(Math.abs(result.reward - row.want) < 1e-9, `got ${result.reward}, want ${row.want}: ${result.why}`)
    assert.equal(typeof result.why, 'string')
    assert.ok(result.why.length > 0)
  })
}

test('reasoning similarity: character-trigram cosine, symmetric, 1 for equal text, 0 for disjoint', () => {
  const sim = rewards.stepSimilarity
  assert.equal(sim('the red circle', 'The red circle.'), 1)
  assert.ok(Math.abs(sim('the red circle is left', 'left is the red circle') - sim('left is the red circle', 'the red circle is left')) < 1e-12)
  assert.equal(sim('abc', 'xyz'), 0)
  const m = rewards.matchF1(['a red circle', 'zzz qqq'], ['the red circle', 'a blue square', 'a green one'], 0.5)
  assert.equal(m.matched.length, 1)
  assert.ok(Math.abs(m.precision - 0.5) < 1e-12 && Math.abs(m.recall - 1 / 3) < 1e-12)
})

test('greedy matching takes the most similar pair first (one-to-one)', () => {
  // both predictions are most similar to r1; p0 is identical to it and takes it first, p1 then gets r0
  const m = rewards.matchF1(['the red circle is at x=12', 'the red circle at x=1'], ['the red circle', 'the red circle is at x=12'], 0.3)
  assert.deepEqual(m.matched[0], {pred: 0, ref: 1, similarity: 1})
  assert.equal(m.matched.length, 2)
})

test('number words and relation synonyms parse as documented', () => {
  assert.equal(rewards.parseNumberWords('twenty one'), 21)
  assert.equal(rewards.parseNumberWords('one hundred and five'), 105)
  assert.equal(rewards.parseNumberWords('a dozen'), 12)
  assert.deepEqual(rewards.extractRelations('the cup is beneath the table, to the right of the lamp').sort(), ['below', 'right'])
  assert.deepEqual(rewards.extractRelations('next to'), ['near'])
})

test("scoreAll sums weighted rewards per completion and keeps every function's value", () => {
  const samples = [vqa('3', {question: 'how many ?'}), vqa('3', {question: 'how many ?'})]
  const scored = rewards.scoreAll([J('3'), 'nope'], samples, ['format', 'accuracy'], [1, 2])
  assert.deepEqual(scored.total, [3, 0])
  assert.deepEqual(
    scored.perFunction.format.map((r) => r.reward),
    [1, 0],
  )
  assert.throws(() => rewards.scoreAll([J('3')], [samples[0]], ['format', 'accuracy'], [1]), /reward_weights/)
})

test('--debug-log writes one file per reward function with prompt, completion, reward and why', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfm-grpo-debug-'))
  const log = new rewards.RewardDebugLog(dir)
  const samples = [vqa('left', {question: 'is the red circle left of or right of the blue square ?'})]
  const scored = rewards.scoreAll([J('right')], samples, ['format', 'accuracy', 'spatial'], [1, 1, 1])
  log.write(7, samples, [J('right')], [0], scored)
  assert.deepEqual(readdirSync(dir).sort(), ['debug_accuracy.txt', 'debug_format.txt', 'debug_spatial.txt'])
  const text = readFileSync(path.join(dir, 'debug_spatial.txt'), 'utf8')
  assert.match(text, /step 7/)
  assert.match(text, /prompt: is the red circle left of or right of the blue square \?/)
  assert.match(text, /completion: \{"reasoning_steps"/)
  assert.match(text, /reward: 0\b/)
  assert.match(text, /why: .*(opposite|contradict)/)
})
