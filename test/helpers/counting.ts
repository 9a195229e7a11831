import {createHash} from 'node:crypto'

/** The counting trainer's weights after `steps` uninterrupted steps (its hash chain). */
export function expectedWeights(steps: number): string {
  let w = 'init'
  for (let step = 1; step <= steps; step++) w = createHash('sha256').update(`${w}:${step}`).digest('hex')
  return w
}
