/**
 * A generated visual question answering task: a coloured square on a noisy dark image; questions
 * ask its colour or its quadrant. Answers need the image (chance = 25%). Every sample is a pure
 * function of (seed, index), so nothing is stored and any sample can be regenerated on resume.
 */
import {Rng} from '../rng'

export const COLORS: Record<string, [number, number, number]> = {
  red: [1, 0.1, 0.1],
  green: [0.1, 1, 0.1],
  blue: [0.15, 0.25, 1],
  yellow: [1, 1, 0.1],
}
export const QUADRANTS = ['top-left', 'top-right', 'bottom-left', 'bottom-right']

export interface VqaSample {
  /** HWC float image */
  image: Float32Array
  question: string
  answer: string
}

/**
 * A coloured square on a noisy dark image, drawn from `rng` (the rm-eval plugin's preference pairs
 * draw the same scenes): its colour name and quadrant (0 top-left … 3 bottom-right).
 */
export function drawSquare(rng: Rng, imageSize: number): {image: Float32Array; color: string; quadrant: number} {
  const image = new Float32Array(imageSize * imageSize * 3)
  for (let i = 0; i < image.length; i++) image[i] = rng.next() * 0.15
  const colorNames = Object.keys(COLORS)
  const color = colorNames[rng.int(colorNames.length)]
  const quadrant = rng.int(4)
  const half = imageSize / 2
  const size = Math.max(2, Math.floor(half / 2) + rng.int(Math.max(1, Math.floor(half / 2))))
  const x0 = (quadrant % 2) * half + rng.int(half - size + 1)
  const y0 = Math.floor(quadrant / 2) * half + rng.int(half - size + 1)
  const rgb = COLORS[color]
  for (let y = y0; y < y0 + size; y++) for (let x = x0; x < x0 + size; x++) for (let c = 0; c < 3; c++) image[(y * imageSize + x) * 3 + c] = rgb[c]
  return {image, color, quadrant}
}

export function makeVqaSample(seed: number, index: number, imageSize: number): VqaSample {
  const rng = Rng.derive(seed, 0x5a4e, index)
  const {image, color, quadrant} = drawSquare(rng, imageSize)
  const askColor = rng.next() < 0.5
  return askColor ? {image, question: 'what color is the square ?', answer: color} : {image, question: 'where is the square ?', answer: QUADRANTS[quadrant]}
}

/** Every word the task can produce, for fitting a tokenizer without generating the whole set. */
export function vqaCorpus(): string[] {
  return ['what color is the square ?', 'where is the square ?', ...Object.keys(COLORS), ...QUADRANTS]
}
