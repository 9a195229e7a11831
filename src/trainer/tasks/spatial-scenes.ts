/**
 * Generated spatial-reasoning scenes (pipeline 003): two to four coloured shapes on a noisy image,
 * with questions about relations (left/right, above/below), counts, colours and a multiple-choice
 * form, each with its correct answer, plausible wrong answers (DPO's rejected, MC distractors) and
 * short reference reasoning steps (GRPO's reasoning reward). Colours are unique within a scene so
 * "the red circle" names one object. A sample is a pure function of (seed, index).
 */
import {Rng} from '../rng'
import {COLORS} from './shapes-vqa'

export type SpatialTask = 'relation' | 'count' | 'color' | 'multiple_choice'
export const SPATIAL_TASKS: SpatialTask[] = ['relation', 'count', 'color', 'multiple_choice']
export type ShapeName = 'square' | 'circle' | 'triangle'
const SHAPES: ShapeName[] = ['square', 'circle', 'triangle']
const RELATIONS = ['left', 'right', 'above', 'below']
const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five']

export interface SceneObject {
  shape: ShapeName
  color: string
  /** centre, pixels */
  x: number
  y: number
  /** side / diameter, pixels */
  size: number
}

export interface SpatialSample {
  /** HWC in [0,1], imageSize × imageSize × 3 */
  image: Float32Array
  objects: SceneObject[]
  task: SpatialTask
  question: string
  answer: string
  wrongAnswers: string[]
  /** multiple choice: ['A. left', 'B. right', ...]; the answer is the letter */
  choices?: string[]
  reasoningSteps: string[]
}

function covers(o: SceneObject, x: number, y: number): boolean {
  const dx = x + 0.5 - o.x
  const dy = y + 0.5 - o.y
  const r = o.size / 2
  if (o.shape === 'square') return Math.abs(dx) <= r && Math.abs(dy) <= r
  if (o.shape === 'circle') return dx * dx + dy * dy <= r * r
  // triangle pointing up: its half-width grows from 0 at the top to r at the bottom
  return dy >= -r && dy <= r && Math.abs(dx) <= (dy + r) / 2
}

function placeObjects(rng: Rng, imageSize: number, maxObjects: number): SceneObject[] {
  const count = 2 + rng.int(maxObjects - 1)
  const colors = rng.shuffle(Object.keys(COLORS)).slice(0, count)
  const size = Math.max(4, Math.round(imageSize / 4))
  const objects: SceneObject[] = []
  for (let tries = 0; objects.length < count && tries < 200; tries++) {
    const x = size / 2 + rng.int(Math.max(1, imageSize - size)) + 0.5
    const y = size / 2 + rng.int(Math.max(1, imageSize - size)) + 0.5
    if (objects.some((o) => Math.abs(o.x - x) < size + 1 && Math.abs(o.y - y) < size + 1)) continue
    objects.push({shape: SHAPES[rng.int(SHAPES.length)], color: colors[objects.length], x, y, size})
  }
  return objects
}

function render(rng: Rng, objects: SceneObject[], imageSize: number): Float32Array {
  const image = new Float32Array(imageSize * imageSize * 3)
  for (let i = 0; i < image.length; i++) image[i] = rng.next() * 0.15
  for (const o of objects) {
    const rgb = COLORS[o.color]
    for (let y = 0; y < imageSize; y++) for (let x = 0; x < imageSize; x++) if (covers(o, x, y)) for (let c = 0; c < 3; c++) image[(y * imageSize + x) * 3 + c] = rgb[c]
  }
  return image
}

const name = (o: SceneObject) => `the ${o.color} ${o.shape}`
const where = (o: SceneObject) => `${name(o)} is at x=${Math.round(o.x)} y=${Math.round(o.y)}`

/** The relation of a to b along the axis where they are further apart. */
function relation(a: SceneObject, b: SceneObject): {axis: 'x' | 'y'; answer: string; opposite: string} {
  const dx = a.x - b.x
  const dy = a.y - b.y
  if (Math.abs(dx) >= Math.abs(dy)) return dx < 0 ? {axis: 'x', answer: 'left', opposite: 'right'} : {axis: 'x', answer: 'right', opposite: 'left'}
  return dy < 0 ? {axis: 'y', answer: 'above', opposite: 'below'} : {axis: 'y', answer: 'below', opposite: 'above'}
}

function ask(rng: Rng, task: SpatialTask, objects: SceneObject[]): Omit<SpatialSample, 'image' | 'objects' | 'task'> {
  if (task === 'count') {
    const shape = SHAPES[rng.int(SHAPES.length)]
    const n = objects.filter((o) => o.shape === shape).length
    const wrong = [n + 1, Math.max(0, n - 1), n + 2].filter((w) => w !== n)
    return {
      question: `how many ${shape}s are there ?`,
      answer: String(n),
      wrongAnswers: [...new Set(wrong.map(String))],
      reasoningSteps: [...objects.filter((o) => o.shape === shape).map(where), `there ${n === 1 ? 'is' : 'are'} ${NUMBER_WORDS[n]} ${shape}${n === 1 ? '' : 's'}`],
    }
  }
  if (task === 'color') {
    const o = objects[rng.int(objects.length)]
    const others = Object.keys(COLORS).filter((c) => c !== o.color)
    return {
      question: `what color is the object at x=${Math.round(o.x)} y=${Math.round(o.y)} ?`,
      answer: o.color,
      wrongAnswers: others,
      reasoningSteps: [`the object at x=${Math.round(o.x)} y=${Math.round(o.y)} is a ${o.shape}`, `its color is ${o.color}`],
    }
  }
  const [a, b] = rng.shuffle([...objects]).slice(0, 2)
  const rel = relation(a, b)
  const steps = [
    where(a),
    where(b),
    rel.axis === 'x'
      ? `${Math.round(a.x)} ${a.x < b.x ? '<' : '>'} ${Math.round(b.x)} so ${name(a)} is ${rel.answer} of ${name(b)}`
      : `${Math.round(a.y)} ${a.y < b.y ? '<' : '>'} ${Math.round(b.y)} so ${name(a)} is ${rel.answer} ${name(b)}`,
  ]
  if (task === 'relation') {
    const pair = rel.axis === 'x' ? 'left of or right of' : 'above or below'
    return {question: `is ${name(a)} ${pair} ${name(b)} ?`, answer: rel.answer, wrongAnswers: [rel.opposite], reasoningSteps: steps}
  }
  const options = rng.shuffle([...RELATIONS])
  const letters = ['A', 'B', 'C', 'D']
  const choices = options.map((o, i) => `${letters[i]}. ${o}`)
  const answer = letters[options.indexOf(rel.answer)]
  return {
    question: `where is ${name(a)} relative to ${name(b)} ? ${choices.join(' ')}`,
    answer,
    wrongAnswers: letters.filter((l) => l !== answer),
    choices,
    reasoningSteps: [...steps, `the answer is ${answer}`],
  }
}

/** `maxObjects`: scenes hold 2..maxObjects shapes (2..4 by default; 2 makes relations easiest to learn). */
export function makeSpatialSample(seed: number, index: number, imageSize: number, options: {tasks?: SpatialTask[]; maxObjects?: number} = {}): SpatialSample {
  const rng = Rng.derive(seed, 0x5ba7, index)
  const tasks = options.tasks && options.tasks.length > 0 ? options.tasks : SPATIAL_TASKS
  const task = tasks[rng.int(tasks.length)]
  const maxObjects = options.maxObjects ?? 4
  if (!Number.isInteger(maxObjects) || maxObjects < 2 || maxObjects > 4) throw new Error(`spatial scenes hold 2 to 4 objects, not ${maxObjects}`)
  const objects = placeObjects(rng, imageSize, maxObjects)
  const image = render(rng, objects, imageSize)
  return {image, objects, task, ...ask(rng, task, objects)}
}

/** Every word a spatial sample can contain (coordinates up to 128 px), for fitting a word tokenizer. */
export function spatialCorpus(): string[] {
  const numbers = Array.from({length: 129}, (_, i) => String(i))
  const coords = numbers.flatMap((n) => [`x=${n}`, `y=${n}`])
  return [
    'is the left of or right of above below ? how many are there what color object at where relative to so its is a there',
    'A. B. C. D. A B C D < > the answer is',
    ...Object.keys(COLORS),
    ...SHAPES,
    ...SHAPES.map((s) => `${s}s`),
    ...NUMBER_WORDS,
    ...numbers,
    ...coords,
  ]
}
