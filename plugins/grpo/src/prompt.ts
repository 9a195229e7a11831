/**
 * What the built-in model reads and writes: the prompt (question, options, and the JSON answer format
 * the pipeline asks for) and completions in that format, spaced so a word tokenizer keeps every
 * JSON token whole (decode(encode(x)) = x, and the text is still valid JSON).
 */
import type {RewardSample} from './rewards/types'

export const FORMAT_INSTRUCTION = 'reply as json : {"reasoning_steps": [...], "answer": "..."}'

export function promptFor(sample: RewardSample): string {
  const options = sample.choices?.length ? sample.choices : (sample.options ?? [])
  // generated multiple-choice questions already end with their options
  const listed = options.length > 0 && options.every((o) => sample.question.includes(o))
  return [sample.question, ...(listed ? [] : options), FORMAT_INSTRUCTION].join(' ')
}

/** a JSON string in the spaced form: `" word word "`, inner double quotes turned into single ones */
function spacedString(text: string): string {
  const words = text.replace(/["\\]/g, "'").split(/\s+/).filter(Boolean)
  return ['"', ...words, '"'].join(' ')
}

/** `{ "reasoning_steps" : [ " … " , " … " ] , "answer" : " … " }` */
export function renderCompletion(steps: string[], answer: string): string {
  const list = steps.length > 0 ? `[ ${steps.map(spacedString).join(' , ')} ]` : '[ ]'
  return `{ "reasoning_steps" : ${list} , "answer" : ${spacedString(answer)} }`
}
